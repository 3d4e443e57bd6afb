// A small SVG line-plot writer for the plots users would rather look at than
// read (FLOPs CDFs of the space optimiser, search progress, Pareto fronts).
// Plain SVG 1.1 text, no dependencies; deterministic output for a given input.
#pragma once

#include <string>
#include <vector>

namespace tinynas {

struct PlotSeries {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  bool step = false;     // draw as a step function (for CDFs)
  bool markers = false;  // draw a small circle at each point
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 800;
  int height = 500;
  // Axis ranges; when min >= max the range is taken from the data (with a
  // little margin) and rounded to "nice" tick values.
  double x_min = 0, x_max = 0;
  double y_min = 0, y_max = 0;
};

// Renders the series as an SVG document (axes, ticks, grid, legend).
std::string render_svg_plot(const PlotSpec& spec, const std::vector<PlotSeries>& series);

}  // namespace tinynas
