package report

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/llm-d/variant-autoscaler/test/load/harness"
)

var strategyColors = map[string]color.Color{
	harness.Sharded:      color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	harness.GlobalSingle: color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
	harness.GlobalPerVA:  color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
}

var strategyShapes = map[string]draw.GlyphDrawer{
	harness.Sharded:      draw.CircleGlyph{},
	harness.GlobalSingle: draw.SquareGlyph{},
	harness.GlobalPerVA:  draw.TriangleGlyph{},
}

// series is one line of a plot; points with y ≤ 0 cannot be drawn on a
// log axis and are left out.
type series struct {
	name   string
	color  color.Color
	glyph  draw.GlyphDrawer
	dashed bool
	xys    plotter.XYs
}

func (s *series) add(x, y float64) {
	if x > 0 && y > 0 && !math.IsInf(y, 0) && !math.IsNaN(y) {
		s.xys = append(s.xys, plotter.XY{X: x, Y: y})
	}
}

func logLog(title, xLabel, yLabel, path string, lines []*series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range lines {
		if len(s.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return err
		}
		l.Color, pts.Color, pts.Shape = s.color, s.color, s.glyph
		l.Width = vg.Points(1.5)
		pts.Radius = vg.Points(3)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
		for _, xy := range s.xys {
			minX, maxX = math.Min(minX, xy.X), math.Max(maxX, xy.X)
			minY, maxY = math.Min(minY, xy.Y), math.Max(maxY, xy.Y)
		}
	}
	if math.IsInf(minX, 1) { // nothing to draw
		minX, maxX, minY, maxY = 100, 10000, 1, 10
	}
	// A log axis needs a range; widen a single point by a factor 2.
	p.X.Min, p.X.Max = minX/1.5, maxX*1.5
	// Room above the highest point for the legend.
	p.Y.Min, p.Y.Max = minY/2, maxY*40
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// plotEvaluations: VA evaluations per ConfigMap change (the MI300X cost
// change, which affects a quarter of the groups) against N.
func plotEvaluations(r *Report, path string) error {
	var lines []*series
	ref := &series{name: "VAs in the affected groups", color: color.Gray{Y: 0x80}, glyph: draw.CrossGlyph{}, dashed: true}
	for _, s := range r.strategies() {
		line := &series{name: s, color: strategyColors[s], glyph: strategyShapes[s]}
		for _, n := range r.ns() {
			if res := r.run(s, n); res != nil {
				if p := res.Scenario(harness.ScenarioCostQuarter); p != nil && p.Skipped == "" {
					line.add(float64(n), p.Evaluations)
					if !hasX(ref, n) {
						ref.add(float64(n), float64(p.AffectedGroupVAs))
					}
				}
			}
		}
		lines = append(lines, line)
	}
	// What global-per-va does by design, N requests × N VAs, also where it
	// was not run (it would not finish within any useful time box).
	quadratic := &series{name: "global-per-va by design (N²)", color: strategyColors[harness.GlobalPerVA],
		glyph: draw.CrossGlyph{}, dashed: true}
	for _, n := range r.ns() {
		quadratic.add(float64(n), float64(n)*float64(n))
	}
	lines = append(lines, ref, quadratic)
	return logLog("VA evaluations per ConfigMap change (MI300X cost, 1/4 of groups)",
		"N (VariantAutoscalings)", "VA evaluations", path, lines)
}

func hasX(s *series, n int) bool {
	for _, xy := range s.xys {
		if xy.X == float64(n) {
			return true
		}
	}
	return false
}

// plotConvergence: time to converge after a change of every group's
// decision (all unit costs), with the write floor of the same writes.
func plotConvergence(r *Report, path string) error {
	var lines []*series
	floor := &series{name: "write floor (same writes, same client)", color: color.Gray{Y: 0x80}, glyph: draw.CrossGlyph{}, dashed: true}
	for _, s := range r.strategies() {
		line := &series{name: s, color: strategyColors[s], glyph: strategyShapes[s]}
		for _, n := range r.ns() {
			res := r.run(s, n)
			if res == nil {
				continue
			}
			p := res.Scenario(harness.ScenarioCostAll)
			if p == nil || p.Skipped != "" {
				continue
			}
			line.add(float64(n), p.ConvergenceSeconds)
			if p.FloorSeconds > 0 && !hasX(floor, n) {
				floor.add(float64(n), p.FloorSeconds)
			}
		}
		lines = append(lines, line)
	}
	lines = append(lines, floor)
	return logLog("Time to converge after a change of every group (all unit costs +10%)",
		"N (VariantAutoscalings)", "seconds", path, lines)
}
