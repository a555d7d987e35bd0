package main

import (
	"encoding/binary"
	"fmt"
	"os"
)

// cowd.go: vmfsSparse ("COWD") delta extents as ESX writes redo logs (the layout qemu's vmdk driver reads as
// VMDK3): a header (magic, version, flags, numSectors @12, grainSize @16, gdOffset @20, numGDEntries @24,
// freeSector @28, little-endian uint32s), a grain directory of grain-table sectors, 4096-entry grain tables
// and grains. A header with gdOffset 0 (what writeDeltaExtent makes) has no grains yet; the first write gives it
// 1-sector grains, as ESX uses for redo logs.

const cowdGTEntries = 4096

type cowd struct {
	f          *os.File
	path       string
	numSectors int64
	grainSize  int64
	gdOffset   int64
	numGD      int64
	freeSector int64
	gd         []uint32
	gts        map[int64][]uint32
}

func openCOWD(path string, write bool) (*cowd, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	h := make([]byte, 32)
	if _, err := f.ReadAt(h, 0); err != nil || string(h[:4]) != "COWD" {
		f.Close()
		return nil, fmt.Errorf("%s: not a COWD extent", path)
	}
	u := func(o int) int64 { return int64(binary.LittleEndian.Uint32(h[o:])) }
	c := &cowd{f: f, path: path, numSectors: u(12), grainSize: u(16), gdOffset: u(20), numGD: u(24), freeSector: u(28), gts: map[int64][]uint32{}}
	if c.gdOffset == 0 || c.grainSize == 0 {
		c.gdOffset, c.grainSize, c.numGD = 0, 0, 0
		return c, nil
	}
	buf := make([]byte, c.numGD*4)
	if _, err := f.ReadAt(buf, c.gdOffset*512); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: grain directory: %v", path, err)
	}
	c.gd = make([]uint32, c.numGD)
	for i := range c.gd {
		c.gd[i] = binary.LittleEndian.Uint32(buf[i*4:])
	}
	return c, nil
}

func (c *cowd) close() error { return c.f.Close() }

func (c *cowd) gt(idx int64) ([]uint32, error) {
	if t, ok := c.gts[idx]; ok {
		return t, nil
	}
	t := make([]uint32, cowdGTEntries)
	if idx < int64(len(c.gd)) && c.gd[idx] != 0 {
		buf := make([]byte, cowdGTEntries*4)
		if _, err := c.f.ReadAt(buf, int64(c.gd[idx])*512); err != nil {
			return nil, fmt.Errorf("%s: grain table %d: %v", c.path, idx, err)
		}
		for i := range t {
			t[i] = binary.LittleEndian.Uint32(buf[i*4:])
		}
	}
	c.gts[idx] = t
	return t, nil
}

// lookup: the file sector holding disk sector s, or 0 when the delta has no data for it.
func (c *cowd) lookup(s int64) (int64, error) {
	if c.grainSize == 0 || s >= c.numSectors {
		return 0, nil
	}
	g := s / c.grainSize
	t, err := c.gt(g / cowdGTEntries)
	if err != nil || t[g%cowdGTEntries] == 0 {
		return 0, err
	}
	return int64(t[g%cowdGTEntries]) + s%c.grainSize, nil
}

// eachGrain calls fn with the first disk sector and the file sector of every allocated grain.
func (c *cowd) eachGrain(fn func(sector, fileSector int64) error) error {
	for i := range c.gd {
		if c.gd[i] == 0 {
			continue
		}
		t, err := c.gt(int64(i))
		if err != nil {
			return err
		}
		for j, e := range t {
			if e != 0 {
				if err := fn((int64(i)*cowdGTEntries+int64(j))*c.grainSize, int64(e)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *cowd) putU32(off int64, v uint32) error {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	_, err := c.f.WriteAt(b, off)
	return err
}

// initGrains gives a delta without a grain directory one with 1-sector grains, right after the header.
func (c *cowd) initGrains() error {
	st, err := c.f.Stat()
	if err != nil {
		return err
	}
	c.grainSize = 1
	c.numGD = (c.numSectors + cowdGTEntries - 1) / cowdGTEntries
	c.gdOffset = (st.Size() + 511) / 512
	if c.gdOffset < 4 {
		c.gdOffset = 4
	}
	c.freeSector = c.gdOffset + (c.numGD*4+511)/512
	c.gd = make([]uint32, c.numGD)
	if _, err := c.f.WriteAt(make([]byte, (c.freeSector-c.gdOffset)*512), c.gdOffset*512); err != nil {
		return err
	}
	for i, v := range []int64{c.grainSize, c.gdOffset, c.numGD, c.freeSector} {
		if err := c.putU32(int64(16+4*i), uint32(v)); err != nil {
			return err
		}
	}
	return nil
}

// writeSectors writes data (whole sectors) at disk sector s, allocating grain tables and grains at freeSector.
func (c *cowd) writeSectors(s int64, data []byte) error {
	if c.grainSize == 0 {
		if err := c.initGrains(); err != nil {
			return err
		}
	}
	for off := int64(0); off < int64(len(data)); off += 512 {
		sec := s + off/512
		fs, err := c.lookup(sec)
		if err != nil {
			return err
		}
		if fs == 0 {
			if c.grainSize != 1 {
				return fmt.Errorf("%s: writing into an unallocated %d-sector grain is not supported", c.path, c.grainSize)
			}
			g := sec
			ti := g / cowdGTEntries
			if c.gd[ti] == 0 {
				c.gd[ti] = uint32(c.freeSector)
				if _, err := c.f.WriteAt(make([]byte, cowdGTEntries*4), c.freeSector*512); err != nil {
					return err
				}
				c.freeSector += cowdGTEntries * 4 / 512
				if err := c.putU32(c.gdOffset*512+ti*4, c.gd[ti]); err != nil {
					return err
				}
			}
			t, err := c.gt(ti)
			if err != nil {
				return err
			}
			t[g%cowdGTEntries] = uint32(c.freeSector)
			fs = c.freeSector
			c.freeSector++
			if err := c.putU32(int64(c.gd[ti])*512+(g%cowdGTEntries)*4, uint32(fs)); err != nil {
				return err
			}
			if err := c.putU32(28, uint32(c.freeSector)); err != nil {
				return err
			}
		}
		if _, err := c.f.WriteAt(data[off:off+512], fs*512); err != nil {
			return err
		}
	}
	return nil
}
