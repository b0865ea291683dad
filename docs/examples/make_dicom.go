//go:build ignore

// make_dicom wraps a grey PNG in a minimal DICOM file (explicit VR little
// endian, MONOCHROME2, 8 bits, modality DX), for the README's imaging
// example:
//
//	go run docs/examples/make_dicom.go models/chest-xray/testdata/test_000_pneumonia.png docs/examples/chest_pneumonia.dcm
package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	_ "image/png"
	"log"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go run docs/examples/make_dicom.go in.png out.dcm")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	b := img.Bounds()
	pixels := make([]byte, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			pixels = append(pixels, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	const (
		sopClass = "1.2.840.10008.5.1.4.1.1.1.1" // Digital X-Ray Image Storage - For Presentation
		instance = "1.2.826.0.1.3680043.10.1234.28.1"
		explicit = "1.2.840.10008.1.2.1"
	)
	var meta, data bytes.Buffer
	el(&meta, 0x0002, 0x0001, "OB", []byte{0, 1})
	el(&meta, 0x0002, 0x0002, "UI", ui(sopClass))
	el(&meta, 0x0002, 0x0003, "UI", ui(instance))
	el(&meta, 0x0002, 0x0010, "UI", ui(explicit))
	el(&meta, 0x0002, 0x0012, "UI", ui("1.2.826.0.1.3680043.10.1234"))

	el(&data, 0x0008, 0x0016, "UI", ui(sopClass))
	el(&data, 0x0008, 0x0018, "UI", ui(instance))
	el(&data, 0x0008, 0x0060, "CS", text("DX"))
	el(&data, 0x0010, 0x0010, "PN", text("Example^Chest"))
	el(&data, 0x0018, 0x0015, "CS", text("CHEST"))
	el(&data, 0x0028, 0x0002, "US", us(1))
	el(&data, 0x0028, 0x0004, "CS", text("MONOCHROME2"))
	el(&data, 0x0028, 0x0010, "US", us(b.Dy()))
	el(&data, 0x0028, 0x0011, "US", us(b.Dx()))
	el(&data, 0x0028, 0x0100, "US", us(8))
	el(&data, 0x0028, 0x0101, "US", us(8))
	el(&data, 0x0028, 0x0102, "US", us(7))
	el(&data, 0x0028, 0x0103, "US", us(0))
	if len(pixels)%2 == 1 {
		pixels = append(pixels, 0)
	}
	el(&data, 0x7FE0, 0x0010, "OB", pixels)

	var out bytes.Buffer
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	groupLen := make([]byte, 4)
	binary.LittleEndian.PutUint32(groupLen, uint32(meta.Len()))
	el(&out, 0x0002, 0x0000, "UL", groupLen)
	out.Write(meta.Bytes())
	out.Write(data.Bytes())
	if err := os.WriteFile(os.Args[2], out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// el writes one explicit-VR little-endian element.
func el(w *bytes.Buffer, group, elem uint16, vr string, value []byte) {
	binary.Write(w, binary.LittleEndian, group)
	binary.Write(w, binary.LittleEndian, elem)
	w.WriteString(vr)
	switch vr {
	case "OB", "OW", "UN", "SQ", "UT":
		w.Write([]byte{0, 0})
		binary.Write(w, binary.LittleEndian, uint32(len(value)))
	default:
		binary.Write(w, binary.LittleEndian, uint16(len(value)))
	}
	w.Write(value)
}

func ui(s string) []byte {
	if len(s)%2 == 1 {
		s += "\x00"
	}
	return []byte(s)
}

func text(s string) []byte {
	if len(s)%2 == 1 {
		s += " "
	}
	return []byte(s)
}

func us(n int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(n)) }
