package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// extent is one "RW <sectors> <TYPE> "<file>"" line of a VMDK descriptor.
type extent struct {
	Access  string
	Sectors int64
	Type    string
	File    string
}

// descriptor is a parsed text VMDK descriptor; lines are kept so rewriting preserves everything else.
type descriptor struct {
	lines []string
}

var extentRe = regexp.MustCompile(`^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)\s+"([^"]+)"(.*)$`)
var kvRe = regexp.MustCompile(`^\s*([A-Za-z0-9_.]+)\s*=\s*"?([^"]*)"?\s*$`)

func readDescriptor(path string) (*descriptor, error) {
	data, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data) > 64*1024 || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text VMDK descriptor", path)
	}
	d := &descriptor{lines: strings.Split(strings.TrimRight(string(data), "\n"), "\n")}
	if len(d.extents()) == 0 {
		return nil, fmt.Errorf("%s: descriptor has no extents", path)
	}
	return d, nil
}

func (d *descriptor) extents() []extent {
	var out []extent
	for _, l := range d.lines {
		if m := extentRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			out = append(out, extent{Access: m[1], Sectors: n, Type: m[3], File: m[4]})
		}
	}
	return out
}

func (d *descriptor) capacitySectors() int64 {
	var n int64
	for _, e := range d.extents() {
		n += e.Sectors
	}
	return n
}

func (d *descriptor) get(key string) string {
	for _, l := range d.lines {
		if m := kvRe.FindStringSubmatch(l); m != nil && m[1] == key {
			return m[2]
		}
	}
	return ""
}

// set replaces key's value (quoted as in the original line) or appends the key.
func (d *descriptor) set(key, value string, quoted bool) {
	v := value
	if quoted {
		v = `"` + value + `"`
	}
	for i, l := range d.lines {
		if m := kvRe.FindStringSubmatch(l); m != nil && m[1] == key {
			sep := "="
			if strings.Contains(l, " = ") {
				sep = " = "
			}
			d.lines[i] = key + sep + v
			return
		}
	}
	d.lines = append(d.lines, key+" = "+v)
}

// rewriteExtents maps each extent line through f.
func (d *descriptor) rewriteExtents(f func(extent) extent) {
	for i, l := range d.lines {
		if m := extentRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			e := f(extent{Access: m[1], Sectors: n, Type: m[3], File: m[4]})
			d.lines[i] = fmt.Sprintf(`%s %d %s "%s"%s`, e.Access, e.Sectors, e.Type, e.File, m[5])
		}
	}
}

func (d *descriptor) bytes() []byte { return []byte(strings.Join(d.lines, "\n") + "\n") }

func randomCID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	b[0] &= 0x7f
	return hex.EncodeToString(b)
}

func randomDiskUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	parts := make([]string, 16)
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

func cylinders(sectors int64) int64 {
	c := sectors / (255 * 63)
	if c < 1 {
		c = 1
	}
	return c
}

// flatDescriptor is what an ESX host writes for a monolithicFlat ("vmfs") disk.
func flatDescriptor(flatName string, sectors int64, adapter string, thin bool) *descriptor {
	if adapter == "" {
		adapter = "lsilogic"
	}
	t := "0"
	if thin {
		t = "1"
	}
	text := fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%s
parentCID=ffffffff
createType="vmfs"

# Extent description
RW %d VMFS "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "%s"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "%s%s%s"
ddb.thinProvisioned = "%s"
ddb.uuid = "%s"
ddb.virtualHWVersion = "14"`, randomCID(), sectors, flatName, adapter, cylinders(sectors), randomCID(), randomCID(), randomCID(), t, randomDiskUUID())
	return &descriptor{lines: strings.Split(text, "\n")}
}

// deltaDescriptor is what an ESX host writes for a vmfsSparse child of parentHint.
func deltaDescriptor(deltaName string, sectors int64, parentCID, parentHint, adapter string) *descriptor {
	if adapter == "" {
		adapter = "lsilogic"
	}
	if parentCID == "" {
		parentCID = "ffffffff"
	}
	text := fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%s
parentCID=%s
createType="vmfsSparse"
parentFileNameHint="%s"

# Extent description
RW %d VMFSSPARSE "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "%s"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "%s%s%s"
ddb.uuid = "%s"
ddb.virtualHWVersion = "14"`, randomCID(), parentCID, parentHint, sectors, deltaName, adapter, cylinders(sectors), randomCID(), randomCID(), randomCID(), randomDiskUUID())
	return &descriptor{lines: strings.Split(text, "\n")}
}

// writeFileAtomic writes data to path through a temp file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := ioutil.TempFile(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeDeltaExtent writes a small vmfsSparse ("COWD") extent: a header and no grains.
func writeDeltaExtent(path string, sectors int64) error {
	hdr := make([]byte, 4096)
	copy(hdr, "COWD")
	hdr[4] = 1 // version
	for i, v := range []int64{sectors} {
		b := 12 + 8*i
		for k := 0; k < 4; k++ {
			hdr[b+k] = byte(v >> (8 * k))
		}
	}
	return ioutil.WriteFile(path, hdr, 0o600)
}

const blockSize = 64 * 1024

// copySparse copies r into w block by block, seeking over aligned all-zero 64 KiB blocks so that the
// destination stays sparse; it truncates w to the total length at the end. Returns bytes consumed.
func copySparse(w *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, blockSize)
	var off int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n]
			if n == blockSize && isZero(chunk) {
				if _, serr := w.Seek(int64(n), io.SeekCurrent); serr != nil {
					return off, serr
				}
			} else if _, werr := w.Write(chunk); werr != nil {
				return off, werr
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return off, err
		}
	}
	return off, w.Truncate(off)
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// copyFileSparse copies src to dst (created or truncated), keeping holes.
func copyFileSparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := copySparse(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
