package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series is one series of one panel, as test/e2e/dashboard_test.go writes
// them (DASHBOARD_DATA_OUT).
type series struct {
	Panel  string            `json:"panel"`
	Legend string            `json:"legend"`
	Labels map[string]string `json:"labels"`
	Points [][2]float64      `json:"points"`
}

// pictured are the panels the docs' picture shows, in reading order.
var pictured = []struct{ panel, yLabel string }{
	{"Load vs capacity per model", "req/s"},
	{"Desired vs current replicas per variant", "replicas"},
	{"Group reconciles by trigger", "reconciles/s"},
	{"VA evaluations", "evaluations/s"},
	{"Optimization duration", "seconds"},
	{"Load-source queries by result", "queries/s"},
}

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255},
}

// legend fills a Grafana legend format such as "{{variant_name}} desired".
func legend(s series) string {
	out := s.Legend
	for k, v := range s.Labels {
		out = strings.ReplaceAll(out, "{{"+k+"}}", v)
	}
	return out
}

// drawPNG draws the pictured panels from the e2e data into a PNG.
func drawPNG(dataPath, outPath string) error {
	raw, err := os.ReadFile(dataPath)
	if err != nil {
		return err
	}
	var all []series
	if err := json.Unmarshal(raw, &all); err != nil {
		return fmt.Errorf("%s: %w", dataPath, err)
	}
	t0 := 0.0
	for _, s := range all {
		for _, p := range s.Points {
			if t0 == 0 || p[0] < t0 {
				t0 = p[0]
			}
		}
	}
	const cols = 2
	rows := (len(pictured) + cols - 1) / cols
	img := vgimg.New(vg.Points(1100), vg.Points(float64(270*rows)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for i, pic := range pictured {
		p := plot.New()
		p.Title.Text = pic.panel
		p.X.Label.Text = "seconds into the e2e run"
		p.Y.Label.Text = pic.yLabel
		p.Y.Min = 0
		p.Legend.Top = true
		var mine []series
		for _, s := range all {
			if s.Panel == pic.panel {
				mine = append(mine, s)
			}
		}
		sort.Slice(mine, func(a, b int) bool { return legend(mine[a]) < legend(mine[b]) })
		if len(mine) == 0 {
			return fmt.Errorf("no data for panel %q in %s", pic.panel, dataPath)
		}
		for k, s := range mine {
			pts := make(plotter.XYs, len(s.Points))
			for j, pt := range s.Points {
				pts[j] = plotter.XY{X: pt[0] - t0, Y: pt[1]}
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			line.Color = palette[k%len(palette)]
			line.Width = vg.Points(1.5)
			if strings.Contains(s.Legend, "current") {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(line)
			p.Legend.Add(legend(s), line)
		}
		p.Draw(tiles.At(dc, i%cols, i/cols))
	}
	f, err := os.Create(outPath)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
