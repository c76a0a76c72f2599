//go:build ignore

// gen-icon draws build/appicon.png, the app icon: a rounded teal square with
// a waveform turning into lines of text. Only the standard library is used.
//
//	go run build/gen-icon.go            # writes build/appicon.png
//
// Wails derives build/windows/icon.ico from it when that file is missing:
// delete icon.ico and run `scripts/wails.sh build -platform windows/amd64`
// after changing the drawing.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const size = 1024

type vec struct{ x, y float64 }

// roundedBox is the signed distance from p to a box centred at c with half
// extents h and corner radius r (negative inside).
func roundedBox(p, c, h vec, r float64) float64 {
	qx := math.Abs(p.x-c.x) - (h.x - r)
	qy := math.Abs(p.y-c.y) - (h.y - r)
	outside := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
	inside := math.Min(math.Max(qx, qy), 0)
	return outside + inside - r
}

// coverage turns a signed distance into an anti-aliased pixel coverage.
func coverage(d float64) float64 { return math.Max(0, math.Min(1, 0.5-d)) }

func mix(a, b, t float64) float64 { return a + (b-a)*t }

type shape struct {
	c, h  vec
	r     float64
	alpha float64
}

func main() {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))

	// Background: a rounded square inset like platform icon grids expect.
	bgC, bgH, bgR := vec{512, 512}, vec{448, 448}, 200.0
	top := [3]float64{0x2f, 0x8a, 0x6f}
	bottom := [3]float64{0x17, 0x4d, 0x41}

	// Waveform: capsules whose heights follow a smooth envelope, then three
	// lines of "text" of decreasing length, centred as one group.
	heights := []float64{0.3, 0.62, 0.95, 0.55, 0.82, 0.45, 0.24}
	lines := []float64{200, 160, 110}
	const barW, barGap, maxH = 40.0, 24.0, 400.0
	const textGap, lineH, lineStep = 54.0, 36.0, 78.0
	barsW := float64(len(heights))*barW + float64(len(heights)-1)*barGap
	x := 512 - (barsW+textGap+lines[0])/2

	var marks []shape
	for _, h := range heights {
		marks = append(marks, shape{c: vec{x + barW/2, 512}, h: vec{barW / 2, maxH * h / 2}, r: barW / 2, alpha: 1})
		x += barW + barGap
	}
	x += textGap - barGap
	for i, w := range lines {
		y := 512 + float64(i-1)*lineStep
		marks = append(marks, shape{c: vec{x + w/2, y}, h: vec{w / 2, lineH / 2}, r: lineH / 2, alpha: 0.75})
	}

	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			p := vec{float64(px) + 0.5, float64(py) + 0.5}
			bg := coverage(roundedBox(p, bgC, bgH, bgR))
			if bg == 0 {
				continue
			}
			t := (p.y - (bgC.y - bgH.y)) / (2 * bgH.y)
			r, g, b := mix(top[0], bottom[0], t), mix(top[1], bottom[1], t), mix(top[2], bottom[2], t)
			for _, m := range marks {
				if c := coverage(roundedBox(p, m.c, m.h, m.r)) * m.alpha; c > 0 {
					r, g, b = mix(r, 0xf4, c), mix(g, 0xfb, c), mix(b, 0xf8, c)
				}
			}
			img.SetNRGBA(px, py, color.NRGBA{uint8(r + 0.5), uint8(g + 0.5), uint8(b + 0.5), uint8(bg*255 + 0.5)})
		}
	}

	f, err := os.Create("build/appicon.png")
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
