//go:build ignore

// Writes imaging/testdata/gate/*.png, the inputs of gate_test.go's table:
//
//	go run imaging/tools/make_gate_fixtures.go   # from the repo root
//
// Real images are copied from the models' committed test images; junk comes
// from imaging.Junk (seeded), cropped or scaled down to keep the files small.
package main

import (
	"bytes"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/fenzhen/fenzhen/imaging"
)

const dir = "imaging/testdata/gate"

func read(path string) *imaging.Image {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	img, err := imaging.DecodeBytes(b, "image/png", imaging.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	return img
}

func write(name string, img *imaging.Image) {
	var m image.Image
	if img.Channels == 1 {
		g := image.NewGray(image.Rect(0, 0, img.Width, img.Height))
		copy(g.Pix, img.Pix)
		m = g
	} else {
		r := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
		for i := 0; i < img.Width*img.Height; i++ {
			copy(r.Pix[4*i:], img.Pix[3*i:3*i+3])
			r.Pix[4*i+3] = 255
		}
		m = r
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// resize by nearest neighbour (the fixtures only need a size).
func resize(img *imaging.Image, w, h int) *imaging.Image {
	out := &imaging.Image{Width: w, Height: h, Channels: img.Channels, Pix: make([]uint8, w*h*img.Channels)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := x*img.Width/w, y*img.Height/h
			copy(out.Pix[(y*w+x)*img.Channels:(y*w+x+1)*img.Channels], img.Pix[(sy*img.Width+sx)*img.Channels:])
		}
	}
	return out
}

func main() {
	chest := read("models/chest-xray/testdata/test_001_normal.png")
	derm := read("models/dermatology/testdata/test_0000_nv.png")
	write("chest_normal", chest)
	write("chest_16x16", resize(chest, 16, 16))
	write("chest_6x6", resize(chest, 6, 6))
	write("chest_wide_70x28", resize(chest, 70, 28))
	write("chest_strip_150x28", resize(chest, 150, 28))
	write("derm_nv", derm)
	write("derm_48x48", resize(derm, 48, 48))
	write("derm_grey", &imaging.Image{Width: derm.Width, Height: derm.Height, Channels: 1, Pix: func() []uint8 {
		p := make([]uint8, derm.Width*derm.Height)
		for i := range p {
			p[i] = uint8((299*int(derm.Pix[3*i]) + 587*int(derm.Pix[3*i+1]) + 114*int(derm.Pix[3*i+2])) / 1000)
		}
		return p
	}()})
	for _, j := range imaging.Junk(7, 6) {
		img := j.Img
		if img.Width > 300 { // keep the files small: a quarter-size copy of the page
			img = resize(img, img.Width/3, img.Height/3)
		}
		write("junk_"+j.Name, img)
	}
}
