package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// chain.go: delta-disk chains (a vmfsSparse child -> its parent via parentFileNameHint -> ... -> a flat base).
// CopyVirtualDisk_Task of a child consolidates the chain into one flat disk, as a host does; the bytes are
// the base with every delta's grains applied, bottom to top.

// chainLayer is one disk of a chain: a flat extent or a COWD delta extent.
type chainLayer struct {
	desc string
	flat *os.File
	cowd *cowd
}

type diskChain struct {
	layers  []chainLayer // top first
	sectors int64
	adapter string
}

func (c *diskChain) close() {
	for _, l := range c.layers {
		if l.flat != nil {
			l.flat.Close()
		}
		if l.cowd != nil {
			l.cowd.close()
		}
	}
}

// parentOf resolves a descriptor's parentFileNameHint ("/vmfs/volumes/<ds>/<path>" or relative) to a local path.
func parentOf(desc string, d *descriptor) (string, bool, error) {
	hint := d.get("parentFileNameHint")
	if hint == "" {
		return "", false, nil
	}
	if strings.HasPrefix(hint, "/vmfs/volumes/") {
		rest := strings.TrimPrefix(hint, "/vmfs/volumes/")
		i := strings.Index(rest, "/")
		if i < 0 {
			return "", false, fmt.Errorf("bad parentFileNameHint %q", hint)
		}
		p, f := localPath("[" + rest[:i] + "] " + rest[i+1:])
		if f != nil {
			return "", false, fmt.Errorf("parent %q: %T", hint, f)
		}
		return p, true, nil
	}
	return filepath.Join(filepath.Dir(desc), filepath.FromSlash(hint)), true, nil
}

func openChain(desc string) (*diskChain, error) {
	c := &diskChain{}
	for depth := 0; ; depth++ {
		if depth > 32 {
			c.close()
			return nil, fmt.Errorf("%s: disk chain deeper than 32", desc)
		}
		d, err := readDescriptor(desc)
		if err != nil {
			c.close()
			return nil, err
		}
		ext := d.extents()
		if len(ext) != 1 {
			c.close()
			return nil, fmt.Errorf("%s: %d extents (one supported)", desc, len(ext))
		}
		file := filepath.Join(filepath.Dir(desc), filepath.Base(ext[0].File))
		l := chainLayer{desc: desc}
		if depth == 0 {
			c.sectors = ext[0].Sectors
			c.adapter = d.get("ddb.adapterType")
		}
		switch ext[0].Type {
		case "VMFS", "FLAT":
			l.flat, err = os.Open(file)
		case "VMFSSPARSE":
			l.cowd, err = openCOWD(file, false)
		default:
			err = fmt.Errorf("%s: extent type %s not supported", desc, ext[0].Type)
		}
		if err != nil {
			c.close()
			return nil, err
		}
		c.layers = append(c.layers, l)
		parent, ok, err := parentOf(desc, d)
		if err != nil {
			c.close()
			return nil, err
		}
		if !ok {
			if l.flat == nil {
				c.close()
				return nil, fmt.Errorf("%s: a delta disk without a parent", desc)
			}
			return c, nil
		}
		desc = parent
	}
}

// readBlock fills buf with the disk's bytes at sector s: the base, then each delta's grains on top.
func (c *diskChain) readBlock(buf []byte, s int64) error {
	for i := range buf {
		buf[i] = 0
	}
	for i := len(c.layers) - 1; i >= 0; i-- {
		l := c.layers[i]
		if l.flat != nil {
			if _, err := l.flat.ReadAt(buf, s*512); err != nil && err != io.EOF {
				return err
			}
			continue
		}
		for off := 0; off < len(buf); off += 512 {
			fs, err := l.cowd.lookup(s + int64(off/512))
			if err != nil {
				return err
			}
			if fs != 0 {
				if _, err := l.cowd.f.ReadAt(buf[off:off+512], fs*512); err != nil && err != io.EOF {
					return err
				}
			}
		}
	}
	return nil
}

// chainReader reads the consolidated disk sequentially.
type chainReader struct {
	c   *diskChain
	pos int64 // sectors
}

func (r *chainReader) Read(p []byte) (int, error) {
	left := r.c.sectors - r.pos
	if left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p) / 512)
	if n > left {
		n = left
	}
	if n == 0 {
		return 0, io.ErrShortBuffer
	}
	if err := r.c.readBlock(p[:n*512], r.pos); err != nil {
		return 0, err
	}
	r.pos += n
	return int(n * 512), nil
}

func isDeltaDisk(d *descriptor) bool {
	for _, e := range d.extents() {
		if e.Type == "VMFSSPARSE" {
			return true
		}
	}
	return d.get("parentFileNameHint") != ""
}

// consolidateCopy writes dst (descriptor + sparse -flat) with the chain's bytes.
func consolidateCopy(src, dst, adapter string) error {
	c, err := openChain(src)
	if err != nil {
		return err
	}
	defer c.close()
	if adapter == "" {
		adapter = c.adapter
	}
	flatName := strings.TrimSuffix(filepath.Base(dst), ".vmdk") + "-flat.vmdk"
	out, err := os.OpenFile(filepath.Join(filepath.Dir(dst), flatName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := copySparse(out, &chainReader{c: c}); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return writeFileAtomic(dst, flatDescriptor(flatName, c.sectors, adapter, true).bytes())
}

// chainDiskManager puts chain consolidation in front of diskManager's CopyVirtualDisk_Task.
type chainDiskManager struct {
	diskManager
}

func installChainCopy(model *simulator.Model) {
	ref := model.ServiceContent.VirtualDiskManager
	if ref == nil {
		return
	}
	if dm, ok := simulator.Map.Get(*ref).(*diskManager); ok {
		simulator.Map.Put(&chainDiskManager{diskManager: *dm})
	}
}

func (m *chainDiskManager) CopyVirtualDiskTask(ctx *simulator.Context, req *types.CopyVirtualDisk_Task) soap.HasFault {
	src, f := localPath(req.SourceName)
	d, err := readDescriptor(src)
	if f != nil || err != nil || !isDeltaDisk(d) {
		return m.diskManager.CopyVirtualDiskTask(ctx, req)
	}
	ref := m.task("copyVirtualDisk", func() (types.AnyType, types.BaseMethodFault) {
		dst, f := localPath(req.DestName)
		if f != nil {
			return nil, f
		}
		if _, err := os.Stat(dst); err == nil && (req.Force == nil || !*req.Force) {
			return nil, fileFault(new(types.FileAlreadyExists), req.DestName)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, fileFault(new(types.CannotCreateFile), req.DestName)
		}
		adapter := ""
		if req.DestSpec != nil {
			adapter = strings.ToLower(req.DestSpec.GetVirtualDiskSpec().AdapterType)
		}
		if err := consolidateCopy(src, dst, adapter); err != nil {
			if os.IsNotExist(err) {
				return nil, notFound(req.SourceName)
			}
			return nil, fileFault(new(types.FileFault), req.SourceName+": "+err.Error())
		}
		return nil, nil
	})
	return &methods.CopyVirtualDisk_TaskBody{Res: &types.CopyVirtualDisk_TaskResponse{Returnval: ref}}
}
