package experiment

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/llm-d/variant-autoscaler/replay/policy"
)

var policyColors = map[string]color.Color{
	"operator":           color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	OperatorGateway:      color.RGBA{R: 0x66, G: 0xa6, B: 0x1e, A: 0xff},
	"predecessor":        color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
	"predecessor-per-va": color.RGBA{R: 0xa6, G: 0x76, B: 0x1d, A: 0xff},
	OperatorTail:         color.RGBA{R: 0x1f, G: 0x78, B: 0xb4, A: 0xff},
	OperatorNoBacklog:    color.RGBA{R: 0xe6, G: 0xab, B: 0x02, A: 0xff},
	"keda-queue":         color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	"hpa-kv":             color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff},
	HindsightName:        color.Black,
}

var traceGlyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

func (r *Report) plots(dir string) error {
	for _, t := range r.Traces {
		if err := r.timeline(t, filepath.Join(dir, "timeline-"+t.Name+".png")); err != nil {
			return err
		}
	}
	if err := r.costAttainment(filepath.Join(dir, "cost-vs-attainment.png")); err != nil {
		return err
	}
	return r.validationPlot(filepath.Join(dir, "validation.png"))
}

// timeline draws, over time, the trace's load (top), each policy's
// replicas (middle: starting, ready or draining, all variants and models)
// and its replica cost rate (bottom: replicas weighted by their price, so
// that mixes of variants compare), for every policy but the per-VA
// predecessor, which costs several times the rest (it is in the tables).
func (r *Report) timeline(t TraceInfo, path string) error {
	load := plot.New()
	load.Title.Text = fmt.Sprintf("%s: load, replicas and cost rate over time", t.Name)
	load.Y.Label.Text = "arrivals, req/s"
	reps := plot.New()
	reps.Y.Label.Text = "replicas"
	reps.Legend.Top, reps.Legend.Left = true, true
	costs := plot.New()
	costs.X.Label.Text = "hours"
	costs.Y.Label.Text = "replica cost, $/h"
	loadDone := false
	for _, x := range r.Results {
		if x.Trace != t.Name || x.Policy == "predecessor-per-va" || len(x.Models) == 0 {
			continue
		}
		var cxy, rxy, lxy plotter.XYs
		for i := range x.Models[0].Timeline {
			var rate, cost, n, tt float64
			for _, m := range x.Models {
				if i >= len(m.Timeline) {
					continue
				}
				p := m.Timeline[i]
				tt = p.T / 3600
				rate += p.Load
				for name, k := range p.Replicas {
					cost += float64(k) * variantCost(name)
					n += float64(k)
				}
			}
			cxy = append(cxy, plotter.XY{X: tt, Y: cost})
			rxy = append(rxy, plotter.XY{X: tt, Y: n})
			lxy = append(lxy, plotter.XY{X: tt, Y: rate})
		}
		if !loadDone && x.Policy == HindsightName {
			l, err := plotter.NewLine(lxy)
			if err != nil {
				return err
			}
			l.Color = color.Gray{Y: 0x60}
			load.Add(l)
			loadDone = true
		}
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{reps, rxy}, {costs, cxy}} {
			l, err := plotter.NewLine(pl.xys)
			if err != nil {
				return err
			}
			l.Color = policyColors[x.Policy]
			l.Width = vg.Points(1)
			if x.Policy == HindsightName {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			pl.p.Add(l)
			if pl.p == reps {
				reps.Legend.Add(x.Policy, l)
			}
		}
	}
	for _, p := range []*plot.Plot{load, reps, costs} {
		p.Add(plotter.NewGrid())
	}
	img := vgimg.New(9*vg.Inch, 10*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{{load}, {reps}, {costs}}, tiles, dc)
	load.Draw(canvases[0][0])
	reps.Draw(canvases[1][0])
	costs.Draw(canvases[2][0])
	return savePNG(img, path)
}

// variantCost returns a variant's price by name (the report's setups).
func variantCost(name string) float64 {
	for _, m := range allModels() {
		for _, v := range m.Variants {
			if v.Name == name {
				return v.CostPerHour
			}
		}
	}
	return 0
}

func (r *Report) costAttainment(path string) error {
	p := plot.New()
	p.Title.Text = "cost against SLO attainment (one point per policy and trace)"
	p.X.Label.Text = "SLO attainment, % (axis clipped at 80%)"
	p.Y.Label.Text = "cost / hindsight cost"
	p.Legend.Top, p.Legend.Left = true, false
	p.Add(plotter.NewGrid())
	for ti, t := range r.Traces {
		hs, _ := r.Find(t.Name, HindsightName)
		for _, x := range r.Results {
			if x.Trace != t.Name || hs.Cost <= 0 {
				continue
			}
			s, err := plotter.NewScatter(plotter.XYs{{X: maxf(100*x.Attainment, 80), Y: x.Cost / hs.Cost}})
			if err != nil {
				return err
			}
			s.Color = policyColors[x.Policy]
			s.Shape = traceGlyphs[ti%len(traceGlyphs)]
			s.Radius = vg.Points(4)
			p.Add(s)
			if ti == 0 {
				p.Legend.Add(x.Policy, s)
			}
		}
		marker, err := plotter.NewScatter(plotter.XYs{{X: -1, Y: -1}})
		if err != nil {
			return err
		}
		marker.Shape, marker.Color = traceGlyphs[ti%len(traceGlyphs)], color.Gray{Y: 0x80}
		p.Legend.Add("trace: "+t.Name, marker)
	}
	p.X.Min, p.X.Max = 79, 100.5
	p.Y.Min = 0
	return p.Save(8*vg.Inch, 5.5*vg.Inch, path)
}

func (r *Report) validationPlot(path string) error {
	ttft, itl := plot.New(), plot.New()
	ttft.Title.Text = "queueing model (dashed) against the simulator (solid): mean TTFT"
	ttft.Y.Label.Text = "TTFT, ms (log scale)"
	ttft.Y.Scale, ttft.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	itl.Title.Text = "mean ITL"
	itl.Y.Label.Text = "ITL, ms"
	itl.X.Label.Text = "load, % of the model's capacity"
	ttft.Legend.Top, ttft.Legend.Left = true, true
	colors := []color.Color{color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}, color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}, color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff}}
	for ci, c := range r.Capacities {
		var pt, st, pi, si plotter.XYs
		for _, x := range r.Validation {
			if x.Case != c.Case {
				continue
			}
			f := 100 * x.Fraction
			pt = append(pt, plotter.XY{X: f, Y: x.PredTTFT})
			st = append(st, plotter.XY{X: f, Y: x.Sim.TTFTMean})
			pi = append(pi, plotter.XY{X: f, Y: x.PredITL})
			si = append(si, plotter.XY{X: f, Y: x.Sim.ITLMean})
		}
		for _, pair := range []struct {
			p        *plot.Plot
			pred, sm plotter.XYs
		}{{ttft, pt, st}, {itl, pi, si}} {
			lp, err := plotter.NewLine(pair.pred)
			if err != nil {
				return err
			}
			ls, err := plotter.NewLine(pair.sm)
			if err != nil {
				return err
			}
			lp.Color, ls.Color = colors[ci%3], colors[ci%3]
			lp.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			pair.p.Add(lp, ls)
			if pair.p == ttft {
				ttft.Legend.Add(c.Case, ls)
			}
		}
	}
	ttft.Add(plotter.NewGrid())
	itl.Add(plotter.NewGrid())
	img := vgimg.New(8*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{{ttft}, {itl}}, tiles, dc)
	ttft.Draw(canvases[0][0])
	itl.Draw(canvases[1][0])
	return savePNG(img, path)
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func allModels() []policy.Model { return []policy.Model{Chat8B(), Assist8B(), RAG70B()} }

func savePNG(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
