#include "core/svg_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string_view>

namespace tinynas {

namespace {

// Okabe-Ito palette, which stays distinguishable under the common forms of
// colour blindness. Its yellow is left out: it is unreadable on white.
constexpr std::array<const char*, 7> k_palette = {
    "#0072B2",  // blue
    "#D55E00",  // vermillion
    "#009E73",  // bluish green
    "#CC79A7",  // reddish purple
    "#E69F00",  // orange
    "#56B4E9",  // sky blue
    "#000000",  // black
};

// Tick counts we aim for: fewer is uninformative, more crowds the labels.
constexpr int64_t k_max_ticks = 8;
// Fraction of the data span added on each side so that extreme points do not
// sit on the frame.
constexpr double k_margin = 0.03;

// Approximate glyph width for the 12px sans-serif font; SVG has no text
// metrics, so layout (legend box, left margin) uses this estimate.
constexpr double k_char_width = 7.0;
constexpr double k_font_size = 12.0;

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t':
      case '\n':
      case '\r': out += ' '; break;
      default:
        // Other control characters are not allowed anywhere in XML 1.0, so a
        // stray one in a label would make the whole document unreadable.
        if (static_cast<unsigned char>(c) < 0x20) {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Formats with %.<precision>g; adding 0.0 turns -0 into 0 so that "-0" never
// appears in the output.
std::string format_g(double value, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, value + 0.0);
  return buf;
}

// Pixel coordinates: rounded to 1/100 px, which is below anything visible,
// keeps the file compact and makes it independent of last-bit float noise.
std::string px(double value) {
  double rounded = std::round(value * 100.0) / 100.0;
  return format_g(rounded, 10);
}

struct Axis {
  double lo = 0;
  double hi = 1;
  double step = 0.2;
  int64_t first = 0;  // ticks are i * step for i in [first, last]
  int64_t last = 5;
};

// Moves mantissa x 10^exponent to the next value of 1, 2, 5, 10, 20, ...
void advance_step(double& mantissa, int& exponent) {
  if (mantissa == 1) {
    mantissa = 2;
  } else if (mantissa == 2) {
    mantissa = 5;
  } else {
    mantissa = 1;
    ++exponent;
  }
}

// q rounded to the nearest integer when it is one up to floating-point noise
// (0.3 / 0.1 = 2.9999999999999996), so that floor/ceil do not land a step off.
double snap(double q) {
  double r = std::round(q);
  return std::fabs(q - r) < 1e-9 ? r : q;
}

// Picks the smallest 1/2/5 x 10^k step that gives at most k_max_ticks ticks.
// With `expand` the range is widened outward to the neighbouring tick
// multiples (data-derived ranges); otherwise it is kept exactly and only the
// multiples of the step inside it become ticks (ranges the caller fixed).
// Consecutive candidate steps differ by at most 2.5x, so the count we stop at
// is rarely below 4: this is what yields the ~5-8 ticks.
// Requires lo < hi and a finite span.
Axis make_axis(double lo, double hi, bool expand) {
  const double span = hi - lo;
  // Start two decades below the span so that the first candidate certainly
  // gives too many ticks; the loop then walks up to the first that fits.
  int exponent = static_cast<int>(std::floor(std::log10(span))) - 2;
  double mantissa = 1;
  double step = std::pow(10.0, exponent);
  for (int guard = 0; guard < 64; ++guard) {
    double q_lo = snap(lo / step);
    double q_hi = snap(hi / step);
    double first = expand ? std::floor(q_lo) : std::ceil(q_lo);
    double last = expand ? std::ceil(q_hi) : std::floor(q_hi);
    // Tick indices far beyond 2^53 cannot be told apart anyway (and would not
    // fit int64_t); a coarser step brings them back into range.
    bool representable = std::fabs(first) < 1e15 && std::fabs(last) < 1e15;
    if (representable && last - first + 1 <= k_max_ticks) {
      Axis axis;
      axis.step = step;
      axis.first = static_cast<int64_t>(first);
      axis.last = static_cast<int64_t>(last);
      axis.lo = expand ? first * step : lo;
      axis.hi = expand ? last * step : hi;
      // Rounding outward can overflow next to DBL_MAX; keep the exact range.
      if (!std::isfinite(axis.lo) || !std::isfinite(axis.hi)) return make_axis(lo, hi, false);
      return axis;
    }
    advance_step(mantissa, exponent);
    step = mantissa * std::pow(10.0, exponent);
  }
  // Not reached for finite spans; still return something drawable.
  Axis axis;
  axis.lo = lo;
  axis.hi = hi;
  axis.step = span;
  axis.first = 0;
  axis.last = -1;
  return axis;
}

double tick_value(const Axis& axis, int64_t i) {
  return static_cast<double>(i) * axis.step;
}

// Enough significant digits to tell adjacent ticks apart (1.0000001 vs
// 1.0000002 need more than %.6g), but no fewer than 6.
int tick_precision(const Axis& axis) {
  double biggest = std::max(std::fabs(tick_value(axis, axis.first)),
                            std::fabs(tick_value(axis, axis.last)));
  if (biggest == 0 || axis.step <= 0) return 6;
  int digits = static_cast<int>(std::floor(std::log10(biggest))) -
               static_cast<int>(std::floor(std::log10(axis.step))) + 1;
  return std::clamp(digits, 6, 15);
}

std::string tick_label(const Axis& axis, int64_t i) {
  double value = tick_value(axis, i);
  // Remove residue like 3e-17 for what is exactly the 0 tick.
  if (std::fabs(value) < axis.step * 1e-9) value = 0;
  return format_g(value, tick_precision(axis));
}

// Resolves one axis: the caller's range when it is a real interval, else the
// data's extent plus a margin, rounded outward to ticks.
Axis resolve_axis(double spec_min, double spec_max, double data_min, double data_max,
                  bool have_data) {
  if (std::isfinite(spec_min) && std::isfinite(spec_max) && spec_min < spec_max &&
      std::isfinite(spec_max - spec_min)) {
    return make_axis(spec_min, spec_max, false);
  }
  if (!have_data) return make_axis(0, 1, false);
  double lo = data_min;
  double hi = data_max;
  if (!std::isfinite(hi - lo)) {
    // Data spanning most of the double range: hi - lo overflows. Clamp the
    // axis to half the range on each side (points beyond are clipped) and
    // skip the margin, which would overflow again.
    const double half_max = std::numeric_limits<double>::max() / 2;
    lo = std::max(lo, -half_max);
    hi = std::min(hi, half_max);
  } else if (hi - lo <= 0) {
    // A single value: give it a visible band around itself (clamped so that
    // a value near +-DBL_MAX does not produce an infinite end).
    const double max = std::numeric_limits<double>::max();
    double half = lo == 0 ? 0.5 : std::fabs(lo) * 0.5;
    lo = std::max(lo - half, -max);
    hi = std::min(hi + half, max);
  } else {
    double margin = (hi - lo) * k_margin;
    // Non-negative data (counts, probabilities, FLOPs) should not get an axis
    // that starts below zero just because of the margin; same for <= 0.
    lo = (data_min >= 0 && lo - margin < 0) ? 0 : lo - margin;
    hi = (data_max <= 0 && hi + margin > 0) ? 0 : hi + margin;
  }
  return make_axis(lo, hi, true);
}

struct Layout {
  double left, right, top, bottom;  // plot area in pixels
};

// Appends a <line> with the given end points and extra attributes.
void line_element(std::string& out, double x1, double y1, double x2, double y2,
                  std::string_view extra) {
  out += "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" +
         px(y2) + "\"";
  if (!extra.empty()) {
    out += ' ';
    out += extra;
  }
  out += "/>\n";
}

struct Point {
  double x, y;
};

// Adds points along the open segment a-b, about one per 10 px, so that a long
// straight segment counts as covering the area it crosses, not just its ends.
void sample_segment(Point a, Point b, std::vector<Point>& out) {
  double length = std::hypot(b.x - a.x, b.y - a.y);
  int samples = static_cast<int>(std::min(length / 10.0, 200.0));
  for (int k = 1; k < samples; ++k) {
    double t = static_cast<double>(k) / samples;
    out.push_back({a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
  }
}

}  // namespace

std::string render_svg_plot(const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  // Very small canvases would give a negative plot area; clamp to a minimum
  // that still fits ticks and labels.
  const double width = std::max(spec.width, 200);
  const double height = std::max(spec.height, 150);

  // Data extent over finite points only: NaN/inf cannot be placed on an axis.
  bool have_data = false;
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  for (const auto& s : series) {
    size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i) {
      double x = s.x[i], y = s.y[i];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (!have_data) {
        x_lo = x_hi = x;
        y_lo = y_hi = y;
        have_data = true;
      } else {
        x_lo = std::min(x_lo, x);
        x_hi = std::max(x_hi, x);
        y_lo = std::min(y_lo, y);
        y_hi = std::max(y_hi, y);
      }
    }
  }
  const Axis xa = resolve_axis(spec.x_min, spec.x_max, x_lo, x_hi, have_data);
  const Axis ya = resolve_axis(spec.y_min, spec.y_max, y_lo, y_hi, have_data);

  // The left margin grows with the widest y tick label so labels never run
  // into the y axis title.
  size_t widest_y_label = 1;
  for (int64_t i = ya.first; i <= ya.last; ++i) {
    widest_y_label = std::max(widest_y_label, tick_label(ya, i).size());
  }
  Layout area;
  area.left = 16 + (spec.y_label.empty() ? 0 : 20) + k_char_width * widest_y_label;
  area.right = width - 24;
  area.top = spec.title.empty() ? 20 : 44;
  area.bottom = height - (spec.x_label.empty() ? 32 : 52);

  // Data -> pixels. Halving before subtracting keeps x - lo from overflowing
  // when data reach the ends of the double range. Points far outside a fixed
  // range are pulled in to +-1e7 px so that every coordinate stays a finite,
  // short number; only segments ending thousands of canvases away bend.
  auto to_pixel = [](double v, const Axis& a, double p0, double p1) {
    double t = (0.5 * v - 0.5 * a.lo) / (0.5 * a.hi - 0.5 * a.lo);
    return std::clamp(p0 + t * (p1 - p0), -1e7, 1e7);
  };
  auto sx = [&](double x) { return to_pixel(x, xa, area.left, area.right); };
  auto sy = [&](double y) { return to_pixel(y, ya, area.bottom, area.top); };

  std::string out;
  out.reserve(4096);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + px(width) +
         "\" height=\"" + px(height) + "\" viewBox=\"0 0 " + px(width) + " " + px(height) +
         "\" font-family=\"sans-serif\" font-size=\"" + px(k_font_size) + "\">\n";
  // Series lines are clipped to the plot area: with a caller-fixed range,
  // points outside it must not be drawn over the labels.
  out += "<defs><clipPath id=\"plot-area\"><rect x=\"" + px(area.left) + "\" y=\"" +
         px(area.top) + "\" width=\"" + px(area.right - area.left) + "\" height=\"" +
         px(area.bottom - area.top) + "\"/></clipPath></defs>\n";
  out += "<rect x=\"0\" y=\"0\" width=\"" + px(width) + "\" height=\"" + px(height) +
         "\" fill=\"#ffffff\"/>\n";

  if (!spec.title.empty()) {
    out += "<text class=\"title\" x=\"" + px(width / 2) + "\" y=\"28\" text-anchor=\"middle\" "
           "font-size=\"16\" font-weight=\"bold\">" + xml_escape(spec.title) + "</text>\n";
  }

  // Grid lines first so that everything else is drawn over them.
  out += "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n";
  for (int64_t i = xa.first; i <= xa.last; ++i) {
    double x = sx(tick_value(xa, i));
    line_element(out, x, area.top, x, area.bottom, "");
  }
  for (int64_t i = ya.first; i <= ya.last; ++i) {
    double y = sy(tick_value(ya, i));
    line_element(out, area.left, y, area.right, y, "");
  }
  out += "</g>\n";

  // Tick marks and labels.
  out += "<g class=\"ticks\" stroke=\"#333333\" stroke-width=\"1\">\n";
  for (int64_t i = xa.first; i <= xa.last; ++i) {
    double x = sx(tick_value(xa, i));
    line_element(out, x, area.bottom, x, area.bottom + 5, "");
  }
  for (int64_t i = ya.first; i <= ya.last; ++i) {
    double y = sy(tick_value(ya, i));
    line_element(out, area.left - 5, y, area.left, y, "");
  }
  out += "</g>\n";
  for (int64_t i = xa.first; i <= xa.last; ++i) {
    double x = sx(tick_value(xa, i));
    out += "<text class=\"xtick\" x=\"" + px(x) + "\" y=\"" + px(area.bottom + 19) +
           "\" text-anchor=\"middle\">" + xml_escape(tick_label(xa, i)) + "</text>\n";
  }
  for (int64_t i = ya.first; i <= ya.last; ++i) {
    double y = sy(tick_value(ya, i));
    out += "<text class=\"ytick\" x=\"" + px(area.left - 8) + "\" y=\"" + px(y + 4) +
           "\" text-anchor=\"end\">" + xml_escape(tick_label(ya, i)) + "</text>\n";
  }

  // Frame around the plot area.
  out += "<rect class=\"frame\" x=\"" + px(area.left) + "\" y=\"" + px(area.top) +
         "\" width=\"" + px(area.right - area.left) + "\" height=\"" +
         px(area.bottom - area.top) + "\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n";

  if (!spec.x_label.empty()) {
    out += "<text class=\"xlabel\" x=\"" + px((area.left + area.right) / 2) + "\" y=\"" +
           px(height - 12) + "\" text-anchor=\"middle\">" + xml_escape(spec.x_label) +
           "</text>\n";
  }
  if (!spec.y_label.empty()) {
    double cx = 18;
    double cy = (area.top + area.bottom) / 2;
    out += "<text class=\"ylabel\" x=\"" + px(cx) + "\" y=\"" + px(cy) +
           "\" text-anchor=\"middle\" transform=\"rotate(-90 " + px(cx) + " " + px(cy) + ")\">" +
           xml_escape(spec.y_label) + "</text>\n";
  }

  // Series. `ink` collects pixel positions along every drawn line, so that the
  // legend can be put in the corner where it hides the least.
  std::vector<Point> ink;
  out += "<g clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"1.5\" "
         "stroke-linejoin=\"round\">\n";
  for (size_t si = 0; si < series.size(); ++si) {
    const PlotSeries& s = series[si];
    const char* colour = k_palette[si % k_palette.size()];
    std::vector<std::pair<double, double>> points;
    size_t n = std::min(s.x.size(), s.y.size());
    points.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) points.emplace_back(s.x[i], s.y[i]);
    }
    if (points.empty()) continue;

    std::vector<Point> vertices;
    vertices.reserve(s.step ? 2 * points.size() : points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      // A step function holds its value until the next x, then jumps: the
      // extra vertex (x[i], y[i-1]) makes that corner, as in an empirical CDF.
      if (s.step && i > 0) vertices.push_back({sx(points[i].first), sy(points[i - 1].second)});
      vertices.push_back({sx(points[i].first), sy(points[i].second)});
    }
    std::string coords;
    for (size_t i = 0; i < vertices.size(); ++i) {
      if (i > 0) coords += ' ';
      coords += px(vertices[i].x) + "," + px(vertices[i].y);
      ink.push_back(vertices[i]);
      if (i + 1 < vertices.size()) sample_segment(vertices[i], vertices[i + 1], ink);
    }
    out += "<polyline class=\"series\" stroke=\"" + std::string(colour) + "\" points=\"" +
           coords + "\"/>\n";

    // A lone point draws no visible line, so it always gets a marker.
    if (s.markers || points.size() == 1) {
      out += "<g class=\"markers\" fill=\"" + std::string(colour) + "\" stroke=\"none\">\n";
      for (const auto& [x, y] : points) {
        out += "<circle cx=\"" + px(sx(x)) + "\" cy=\"" + px(sy(y)) + "\" r=\"3\"/>\n";
      }
      out += "</g>\n";
    }
  }
  out += "</g>\n";

  // Legend in a corner of the plot area, for labelled series.
  size_t legend_rows = 0;
  size_t widest_label = 0;
  for (const auto& s : series) {
    if (s.label.empty()) continue;
    ++legend_rows;
    widest_label = std::max(widest_label, s.label.size());
  }
  if (legend_rows > 0) {
    const double row_height = 18;
    const double inset = 8;
    const double box_width = 42 + k_char_width * static_cast<double>(widest_label);
    const double box_height = 8 + row_height * static_cast<double>(legend_rows);
    // Candidates in order of preference; the first with the least ink wins,
    // so a CDF (rising to the top right) gets its legend top-left instead.
    const double left_x = area.left + inset;
    const double right_x = area.right - inset - box_width;
    const double top_y = area.top + inset;
    const double bottom_y = area.bottom - inset - box_height;
    const std::array<Point, 4> corners = {
        Point{right_x, top_y}, Point{left_x, top_y}, Point{right_x, bottom_y},
        Point{left_x, bottom_y}};
    Point best = corners[0];
    size_t best_ink = std::numeric_limits<size_t>::max();
    for (const Point& c : corners) {
      size_t covered = static_cast<size_t>(std::count_if(ink.begin(), ink.end(), [&](Point p) {
        return p.x >= c.x && p.x <= c.x + box_width && p.y >= c.y && p.y <= c.y + box_height;
      }));
      if (covered < best_ink) {
        best_ink = covered;
        best = c;
      }
    }
    const double box_x = best.x;
    const double box_y = best.y;
    out += "<g class=\"legend\">\n";
    out += "<rect x=\"" + px(box_x) + "\" y=\"" + px(box_y) + "\" width=\"" + px(box_width) +
           "\" height=\"" + px(box_height) +
           "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#999999\" stroke-width=\"1\"/>\n";
    size_t row = 0;
    for (size_t si = 0; si < series.size(); ++si) {
      const PlotSeries& s = series[si];
      if (s.label.empty()) continue;
      const char* colour = k_palette[si % k_palette.size()];
      double y = box_y + 4 + row_height * (static_cast<double>(row) + 0.5);
      line_element(out, box_x + 8, y, box_x + 30, y,
                   std::string("stroke=\"") + colour + "\" stroke-width=\"2\"");
      if (s.markers) {
        out += "<circle cx=\"" + px(box_x + 19) + "\" cy=\"" + px(y) + "\" r=\"3\" fill=\"" +
               colour + "\"/>\n";
      }
      out += "<text class=\"legend-label\" x=\"" + px(box_x + 36) + "\" y=\"" + px(y + 4) +
             "\">" + xml_escape(s.label) + "</text>\n";
      ++row;
    }
    out += "</g>\n";
  }

  out += "</svg>\n";
  return out;
}

}  // namespace tinynas
