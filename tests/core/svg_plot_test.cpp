#include "core/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tinynas {
namespace {

// A small XML checker, enough to catch what a string-built SVG gets wrong:
// unbalanced or misnested tags, unquoted attributes, raw '<' or '&' in text,
// unknown entities. Returns an empty string when well-formed, else a reason.
std::string xml_problem(const std::string& doc) {
  std::vector<std::string> stack;
  size_t i = 0;
  int roots = 0;
  auto check_text = [](const std::string& text) -> std::string {
    for (size_t k = 0; k < text.size(); ++k) {
      if (text[k] == '<') return "raw '<' in text";
      if (text[k] == '&') {
        size_t semi = text.find(';', k);
        if (semi == std::string::npos) return "unterminated entity";
        std::string name = text.substr(k + 1, semi - k - 1);
        static const std::set<std::string> known = {"amp", "lt", "gt", "quot", "apos"};
        if (!known.count(name)) return "unknown entity &" + name + ";";
      }
      if (static_cast<unsigned char>(text[k]) < 0x20 && text[k] != '\n' && text[k] != '\t' &&
          text[k] != '\r')
        return "control character";
    }
    return "";
  };
  while (i < doc.size()) {
    size_t lt = doc.find('<', i);
    std::string text = doc.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (auto p = check_text(text); !p.empty()) return p;
    if (stack.empty() && text.find_first_not_of(" \n\r\t") != std::string::npos)
      return "text outside the root element";
    if (lt == std::string::npos) break;
    if (doc.compare(lt, 5, "<?xml") == 0) {
      if (lt != 0) return "XML declaration not at the start";
      size_t end = doc.find("?>", lt);
      if (end == std::string::npos) return "unterminated declaration";
      i = end + 2;
      continue;
    }
    size_t gt = lt + 1;
    char quote = 0;
    while (gt < doc.size() && (quote || doc[gt] != '>')) {
      if (quote && doc[gt] == quote) {
        quote = 0;
      } else if (!quote && (doc[gt] == '"' || doc[gt] == '\'')) {
        quote = doc[gt];
      } else if (!quote && doc[gt] == '<') {
        return "'<' inside a tag";
      }
      ++gt;
    }
    if (gt >= doc.size()) return "unterminated tag";
    std::string tag = doc.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (!tag.empty() && tag[0] == '/') {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      continue;
    }
    bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    std::istringstream in(tag);
    std::string name;
    in >> name;
    if (name.empty()) return "empty tag name";
    // Attributes: name="value" pairs, values checked like text.
    std::regex attr_re(R"re(\s+([A-Za-z_:][-A-Za-z0-9_:.]*)="([^"]*)")re");
    std::string rest = tag.substr(name.size());
    std::string leftover = std::regex_replace(rest, attr_re, "");
    if (leftover.find_first_not_of(" \n\t") != std::string::npos)
      return "malformed attributes in <" + name + ">: " + leftover;
    for (std::sregex_iterator it(rest.begin(), rest.end(), attr_re), end; it != end; ++it) {
      if (auto p = check_text((*it)[2]); !p.empty()) return p + " in attribute";
    }
    if (stack.empty()) ++roots;
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return "";
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

// Text contents of <text class="cls" ...>...</text>, in document order.
std::vector<std::string> texts_of_class(const std::string& svg, const std::string& cls) {
  std::vector<std::string> out;
  std::regex re("<text class=\"" + cls + "\"[^>]*>([^<]*)</text>");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

std::vector<double> tick_values(const std::string& svg, const std::string& cls) {
  std::vector<double> out;
  for (const auto& t : texts_of_class(svg, cls)) out.push_back(std::strtod(t.c_str(), nullptr));
  return out;
}

// The points attribute of each polyline, as vertex lists.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
  std::vector<std::vector<std::pair<double, double>>> out;
  std::regex re("<polyline[^>]*points=\"([^\"]*)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it) {
    std::vector<std::pair<double, double>> pts;
    std::istringstream in((*it)[1].str());
    std::string pair;
    while (in >> pair) {
      size_t comma = pair.find(',');
      pts.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    out.push_back(pts);
  }
  return out;
}

std::vector<std::string> polyline_strokes(const std::string& svg) {
  std::vector<std::string> out;
  std::regex re("<polyline[^>]*stroke=\"([^\"]*)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

// True when the ticks are evenly spaced by 1, 2 or 5 x 10^k and each tick is
// a multiple of that step.
::testing::AssertionResult nice_ticks(const std::vector<double>& ticks) {
  if (ticks.size() < 2) return ::testing::AssertionFailure() << "fewer than 2 ticks";
  double step = ticks[1] - ticks[0];
  if (!(step > 0)) return ::testing::AssertionFailure() << "non-increasing ticks";
  for (size_t i = 1; i < ticks.size(); ++i) {
    if (std::fabs((ticks[i] - ticks[i - 1]) - step) > step * 1e-6)
      return ::testing::AssertionFailure() << "uneven spacing at " << i;
  }
  double exponent = std::floor(std::log10(step) + 1e-9);
  double mantissa = step / std::pow(10.0, exponent);
  bool ok = false;
  for (double m : {1.0, 2.0, 5.0}) ok = ok || std::fabs(mantissa - m) < 1e-6;
  if (!ok) return ::testing::AssertionFailure() << "step " << step << " is not 1/2/5 x 10^k";
  for (double t : ticks) {
    double q = t / step;
    if (std::fabs(q - std::round(q)) > 1e-6)
      return ::testing::AssertionFailure() << "tick " << t << " not a multiple of " << step;
  }
  return ::testing::AssertionSuccess();
}

PlotSeries make_series(std::string label, std::vector<double> x, std::vector<double> y) {
  PlotSeries s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

TEST(SvgPlot, ProducesWellFormedStandaloneSvg) {
  PlotSpec spec;
  spec.title = "FLOPs CDF";
  spec.x_label = "MFLOPs";
  spec.y_label = "fraction";
  std::string svg = render_svg_plot(spec, {make_series("a", {1, 2, 3}, {0.1, 0.5, 0.9})});

  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("version=\"1.1\""), std::string::npos);
  EXPECT_NE(svg.find("width=\"800\" height=\"500\""), std::string::npos);
  EXPECT_EQ(count_of(svg, "<svg"), 1u);
  EXPECT_EQ(count_of(svg, "</svg>"), 1u);
  // White background covering the whole canvas.
  EXPECT_NE(svg.find("<rect x=\"0\" y=\"0\" width=\"800\" height=\"500\" fill=\"#ffffff\"/>"),
            std::string::npos);
  EXPECT_EQ(texts_of_class(svg, "title"), std::vector<std::string>{"FLOPs CDF"});
  EXPECT_EQ(texts_of_class(svg, "xlabel"), std::vector<std::string>{"MFLOPs"});
  EXPECT_EQ(texts_of_class(svg, "ylabel"), std::vector<std::string>{"fraction"});
  // Grid lines: one per tick on each axis, in the light grid group.
  size_t grid_start = svg.find("<g class=\"grid\"");
  ASSERT_NE(grid_start, std::string::npos);
  size_t grid_end = svg.find("</g>", grid_start);
  std::string grid = svg.substr(grid_start, grid_end - grid_start);
  EXPECT_EQ(count_of(grid, "<line"),
            texts_of_class(svg, "xtick").size() + texts_of_class(svg, "ytick").size());
}

TEST(SvgPlot, OnePolylinePerNonEmptySeriesWithDistinctColours) {
  std::vector<PlotSeries> series = {
      make_series("first", {0, 1, 2}, {0, 1, 4}),
      make_series("empty", {}, {}),
      make_series("third", {0, 1, 2}, {4, 1, 0}),
  };
  std::string svg = render_svg_plot(PlotSpec{}, series);
  EXPECT_EQ(xml_problem(svg), "");
  auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), 3u);
  EXPECT_EQ(lines[1].size(), 3u);
  auto strokes = polyline_strokes(svg);
  ASSERT_EQ(strokes.size(), 2u);
  EXPECT_NE(strokes[0], strokes[1]);
  // Every labelled series is in the legend, the empty one included.
  EXPECT_EQ(texts_of_class(svg, "legend-label"),
            (std::vector<std::string>{"first", "empty", "third"}));
}

TEST(SvgPlot, PaletteCyclesAfterItsLastColour) {
  std::vector<PlotSeries> series;
  for (int i = 0; i < 9; ++i) {
    series.push_back(make_series("s" + std::to_string(i), {0, 1}, {double(i), double(i + 1)}));
  }
  auto strokes = polyline_strokes(render_svg_plot(PlotSpec{}, series));
  ASSERT_EQ(strokes.size(), 9u);
  std::set<std::string> first_seven(strokes.begin(), strokes.begin() + 7);
  EXPECT_EQ(first_seven.size(), 7u);
  EXPECT_EQ(strokes[7], strokes[0]);
  EXPECT_EQ(strokes[8], strokes[1]);
}

TEST(SvgPlot, EscapesAllUserText) {
  PlotSpec spec;
  spec.title = "<script>alert('x')</script>";
  spec.x_label = "a & b";
  spec.y_label = "\"quoted\"";
  std::string svg =
      render_svg_plot(spec, {make_series("p<q & r>\"s\"'t'", {0, 1}, {0, 1})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_EQ(texts_of_class(svg, "title"),
            std::vector<std::string>{"&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"});
  EXPECT_EQ(texts_of_class(svg, "xlabel"), std::vector<std::string>{"a &amp; b"});
  EXPECT_EQ(texts_of_class(svg, "ylabel"), std::vector<std::string>{"&quot;quoted&quot;"});
  EXPECT_EQ(texts_of_class(svg, "legend-label"),
            std::vector<std::string>{"p&lt;q &amp; r&gt;&quot;s&quot;&apos;t&apos;"});
}

TEST(SvgPlot, ControlCharactersInLabelsDoNotBreakTheDocument) {
  PlotSpec spec;
  spec.title = std::string("bad\x01title\x1f");
  std::string svg = render_svg_plot(spec, {make_series("tab\there", {0}, {0})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(texts_of_class(svg, "title"), std::vector<std::string>{"bad title "});
}

TEST(SvgPlot, FixedRangeGivesNiceTicksInsideIt) {
  PlotSpec spec;
  spec.x_min = 0;
  spec.x_max = 87;
  spec.y_min = 0;
  spec.y_max = 1;
  std::string svg = render_svg_plot(spec, {make_series("a", {0, 87}, {0, 1})});
  EXPECT_EQ(texts_of_class(svg, "xtick"),
            (std::vector<std::string>{"0", "20", "40", "60", "80"}));
  EXPECT_EQ(texts_of_class(svg, "ytick"),
            (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"}));
}

TEST(SvgPlot, FixedRangeIsKeptEvenWhenDataLiesOutside) {
  PlotSpec spec;
  spec.x_min = -1;
  spec.x_max = 1;
  std::string svg = render_svg_plot(spec, {make_series("a", {-100, 100}, {0, 1})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(texts_of_class(svg, "xtick"),
            (std::vector<std::string>{"-1", "-0.5", "0", "0.5", "1"}));
  // The lines are clipped to the plot area rather than drawn over labels.
  EXPECT_NE(svg.find("<clipPath id=\"plot-area\">"), std::string::npos);
  EXPECT_NE(svg.find("clip-path=\"url(#plot-area)\""), std::string::npos);
}

TEST(SvgPlot, DataRangeGetsMarginRoundedOutwardToTicks) {
  // x: [0, 87] + 3% -> [0, 89.61] (no margin below 0 for non-negative data),
  // rounded out to 20s. y: [-3.2, 7.9] + 3% -> [-3.533, 8.233], rounded to 2s.
  std::string svg = render_svg_plot(PlotSpec{}, {make_series("a", {0, 40, 87}, {-3.2, 7.9, 1})});
  EXPECT_EQ(texts_of_class(svg, "xtick"),
            (std::vector<std::string>{"0", "20", "40", "60", "80", "100"}));
  EXPECT_EQ(texts_of_class(svg, "ytick"),
            (std::vector<std::string>{"-4", "-2", "0", "2", "4", "6", "8", "10"}));
}

TEST(SvgPlot, DecimalTicksAreFreeOfFloatingPointNoise) {
  std::string svg = render_svg_plot(PlotSpec{}, {make_series("a", {0.1, 0.3}, {0.1, 0.3})});
  EXPECT_EQ(texts_of_class(svg, "xtick"),
            (std::vector<std::string>{"0.05", "0.1", "0.15", "0.2", "0.25", "0.3", "0.35"}));
  EXPECT_EQ(svg.find("0000000"), std::string::npos);
  EXPECT_EQ(svg.find("9999999"), std::string::npos);
}

TEST(SvgPlot, TicksAreNiceAndCoverTheDataForManyRanges) {
  // A fixed pseudo-random sweep over magnitudes and offsets.
  unsigned state = 12345;
  auto next = [&state]() {
    state = state * 1103515245u + 12345u;
    return static_cast<double>((state >> 8) & 0xffff) / 65535.0;
  };
  for (int trial = 0; trial < 300; ++trial) {
    double scale = std::pow(10.0, std::floor(next() * 16) - 8);
    double a = (next() * 2 - 1) * scale * (1 + next() * 100);
    double b = a + scale * (0.01 + next() * 10);
    std::string svg = render_svg_plot(PlotSpec{}, {make_series("s", {a, b}, {b, a})});
    for (const char* cls : {"xtick", "ytick"}) {
      auto ticks = tick_values(svg, cls);
      SCOPED_TRACE(std::string(cls) + " for [" + std::to_string(a) + ", " + std::to_string(b) +
                   "]");
      EXPECT_TRUE(nice_ticks(ticks));
      EXPECT_GE(ticks.size(), 4u);
      EXPECT_LE(ticks.size(), 8u);
      ASSERT_FALSE(ticks.empty());
      // Rounded outward: the outer ticks enclose the data (labels are printed
      // to >= 6 significant digits, hence the tolerance).
      double tol = (b - a) * 1e-5;
      EXPECT_LE(ticks.front(), a + tol);
      EXPECT_GE(ticks.back(), b - tol);
    }
  }
}

TEST(SvgPlot, StepSeriesHasTwoNMinusOneVerticesInStaircaseOrder) {
  PlotSeries cdf = make_series("cdf", {1, 2, 4, 8}, {0.25, 0.5, 0.75, 1.0});
  cdf.step = true;
  auto lines = polylines(render_svg_plot(PlotSpec{}, {cdf}));
  ASSERT_EQ(lines.size(), 1u);
  const auto& v = lines[0];
  ASSERT_EQ(v.size(), 7u);
  // Horizontal then vertical: vertex 2i-1 takes x from point i, y from i-1.
  for (size_t i = 1; i < 4; ++i) {
    const auto& corner = v[2 * i - 1];
    EXPECT_DOUBLE_EQ(corner.second, v[2 * i - 2].second) << "horizontal segment " << i;
    EXPECT_DOUBLE_EQ(corner.first, v[2 * i].first) << "vertical segment " << i;
    EXPECT_LT(v[2 * i - 2].first, corner.first);
    EXPECT_GT(v[2 * i - 2].second, v[2 * i].second);  // SVG y grows downward
  }
}

TEST(SvgPlot, NonStepSeriesHasOneVertexPerPoint) {
  auto lines =
      polylines(render_svg_plot(PlotSpec{}, {make_series("a", {1, 2, 4, 8}, {4, 3, 2, 1})}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 4u);
}

TEST(SvgPlot, MarkersDrawOneCirclePerPoint) {
  PlotSeries s = make_series("", {1, 2, 3, 4, 5}, {1, 4, 9, 16, 25});
  s.markers = true;
  EXPECT_EQ(count_of(render_svg_plot(PlotSpec{}, {s}), "<circle"), 5u);
  // A labelled series with markers also shows one in its legend entry.
  s.label = "with markers";
  EXPECT_EQ(count_of(render_svg_plot(PlotSpec{}, {s}), "<circle"), 6u);
  s.markers = false;
  EXPECT_EQ(count_of(render_svg_plot(PlotSpec{}, {s}), "<circle"), 0u);
}

TEST(SvgPlot, SinglePointSeriesIsDrawnAsAMarker) {
  PlotSeries s = make_series("", {3}, {7});
  s.step = true;
  std::string svg = render_svg_plot(PlotSpec{}, {s});
  EXPECT_EQ(xml_problem(svg), "");
  auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 1u);
  EXPECT_EQ(count_of(svg, "<circle"), 1u);
  // The band around a lone value contains it.
  auto xt = tick_values(svg, "xtick");
  ASSERT_FALSE(xt.empty());
  EXPECT_LT(xt.front(), 3);
  EXPECT_GT(xt.back(), 3);
  EXPECT_TRUE(nice_ticks(xt));
}

TEST(SvgPlot, NoDataDrawsEmptyUnitAxes) {
  for (const auto& series :
       {std::vector<PlotSeries>{}, std::vector<PlotSeries>{make_series("empty", {}, {})}}) {
    std::string svg = render_svg_plot(PlotSpec{}, series);
    EXPECT_EQ(xml_problem(svg), "");
    EXPECT_EQ(count_of(svg, "<polyline"), 0u);
    const std::vector<std::string> unit = {"0", "0.2", "0.4", "0.6", "0.8", "1"};
    EXPECT_EQ(texts_of_class(svg, "xtick"), unit);
    EXPECT_EQ(texts_of_class(svg, "ytick"), unit);
  }
}

TEST(SvgPlot, NonFiniteAndMismatchedPointsAreSkipped) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // y is one longer than x; the extra value has no x and is ignored.
  std::string svg =
      render_svg_plot(PlotSpec{}, {make_series("a", {0, 1, nan, 3, 4}, {0, inf, 2, 3, 4, 5})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 3u);
}

TEST(SvgPlot, ExtremeValuesStayFinite) {
  const double big = std::numeric_limits<double>::max();
  std::string svg = render_svg_plot(PlotSpec{}, {make_series("a", {-big, big}, {1e-300, 2e-300})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  EXPECT_TRUE(nice_ticks(tick_values(svg, "xtick")));
  EXPECT_TRUE(nice_ticks(tick_values(svg, "ytick")));
  // A lone value at the end of the double range.
  svg = render_svg_plot(PlotSpec{}, {make_series("a", {-big}, {big})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  // Far outside a fixed range: coordinates are clamped, not overflowing.
  PlotSpec spec;
  spec.x_min = 0;
  spec.x_max = 1e-10;
  svg = render_svg_plot(spec, {make_series("a", {0, big}, {0, 1})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_DOUBLE_EQ(lines[0][1].first, 1e7);
}

TEST(SvgPlot, TinyCanvasIsClampedToAUsableSize) {
  PlotSpec spec;
  spec.width = 0;
  spec.height = -5;
  std::string svg = render_svg_plot(spec, {make_series("a", {0, 1}, {0, 1})});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("width=\"200\" height=\"150\""), std::string::npos);
}

TEST(SvgPlot, OutputIsDeterministicAndCompact) {
  PlotSpec spec;
  spec.title = "t";
  std::vector<PlotSeries> series;
  for (int s = 0; s < 3; ++s) {
    PlotSeries p;
    p.label = "series " + std::to_string(s);
    p.step = s == 1;
    p.markers = s == 2;
    for (int i = 0; i < 50; ++i) {
      p.x.push_back(i * 0.37 + s);
      p.y.push_back(std::sin(i * 0.1 + s) * 1e3 / 7.0);
    }
    series.push_back(p);
  }
  std::string first = render_svg_plot(spec, series);
  std::string second = render_svg_plot(spec, series);
  EXPECT_EQ(first, second);
  // Coordinates carry at most two decimals.
  std::regex long_fraction("[0-9]\\.[0-9]{3,}");
  std::regex points_re("points=\"([^\"]*)\"");
  for (std::sregex_iterator it(first.begin(), first.end(), points_re), end; it != end; ++it) {
    std::string pts = (*it)[1];
    EXPECT_FALSE(std::regex_search(pts, long_fraction)) << pts.substr(0, 80);
  }
}

TEST(SvgPlot, LegendOnlyListsLabelledSeries) {
  std::string svg = render_svg_plot(
      PlotSpec{}, {make_series("", {0, 1}, {0, 1}), make_series("named", {0, 1}, {1, 0})});
  EXPECT_EQ(texts_of_class(svg, "legend-label"), std::vector<std::string>{"named"});
  EXPECT_EQ(count_of(svg, "<g class=\"legend\">"), 1u);
  std::string none = render_svg_plot(PlotSpec{}, {make_series("", {0, 1}, {0, 1})});
  EXPECT_EQ(count_of(none, "class=\"legend\""), 0u);
}

// Position of the legend box (its <rect>) and the plot frame.
struct Box {
  double x, y, w, h;
};
Box rect_after(const std::string& svg, const std::string& marker) {
  std::regex re(marker + "[^<]*<rect x=\"([-0-9.e+]+)\" y=\"([-0-9.e+]+)\" width=\"([-0-9.e+]+)\" "
                "height=\"([-0-9.e+]+)\"");
  std::smatch m;
  if (!std::regex_search(svg, m, re)) return {0, 0, 0, 0};
  return {std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4])};
}

TEST(SvgPlot, LegendGoesToTheCornerWithLeastData) {
  // Rising CDF on [0, 400] x [0, 1]: the top-right corner is where the curve
  // ends, so the legend moves to the top-left.
  PlotSpec cdf_spec;
  cdf_spec.x_max = 400;
  cdf_spec.y_max = 1;
  PlotSeries cdf = make_series("cdf", {}, {});
  cdf.step = true;
  for (int i = 1; i <= 20; ++i) {
    cdf.x.push_back(i * i);
    cdf.y.push_back(i / 20.0);
  }
  std::string svg = render_svg_plot(cdf_spec, {cdf});
  Box frame = rect_after(svg, "<clipPath id=\"plot-area\">");
  Box legend = rect_after(svg, "<g class=\"legend\">\n");
  ASSERT_GT(frame.w, 0);
  ASSERT_GT(legend.w, 0);
  EXPECT_LT(legend.x, frame.x + frame.w / 2) << "expected the left side";
  EXPECT_LT(legend.y, frame.y + frame.h / 2) << "expected the top";

  // A falling line leaves the top-right corner free: the preferred one.
  svg = render_svg_plot(PlotSpec{}, {make_series("down", {0, 10}, {10, 0})});
  frame = rect_after(svg, "<clipPath id=\"plot-area\">");
  legend = rect_after(svg, "<g class=\"legend\">\n");
  EXPECT_GT(legend.x, frame.x + frame.w / 2);
  EXPECT_LT(legend.y, frame.y + frame.h / 2);
  // Inside the plot area.
  EXPECT_GE(legend.x, frame.x);
  EXPECT_LE(legend.x + legend.w, frame.x + frame.w);
  EXPECT_GE(legend.y, frame.y);
  EXPECT_LE(legend.y + legend.h, frame.y + frame.h);
}

}  // namespace
}  // namespace tinynas
