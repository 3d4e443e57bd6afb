#include "search/evolution.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/size.h"
#include "search/predictor.h"

namespace tinynas {
namespace {

using nlohmann::json;

constexpr const char* kCheckpointFormat = "tinynas-search-checkpoint-v1";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int32_t max_depth(const StageChoices& c) { return *std::max_element(c.depths.begin(), c.depths.end()); }

// The searched part of the caller's space: one width and the allowed
// resolutions. Evolution runs on genomes of `inner` (its width gene is always
// 0, its resolution gene indexes `resolutions`); history and checkpoints hold
// the caller's genomes, which differ only in those two genes.
struct Scope {
  SearchSpace inner;
  int32_t width_gene = 0;                 // in the caller's space
  std::vector<int32_t> resolution_genes;  // caller's index of inner resolution i

  Genome to_outer(Genome g) const {
    g.genes[0] = width_gene;
    g.genes[1] = resolution_genes[static_cast<size_t>(g.genes[1])];
    return g;
  }
  Genome to_inner(Genome g, const std::string& where) const {
    if (g.genes.size() != genome_length(inner))
      throw Error(where + ": genome of length " + std::to_string(g.genes.size()) +
                  ", the space's is " + std::to_string(genome_length(inner)));
    if (g.genes[0] != width_gene) throw Error(where + ": genome of another width");
    const auto r = std::find(resolution_genes.begin(), resolution_genes.end(), g.genes[1]);
    if (r == resolution_genes.end()) throw Error(where + ": genome of a resolution not searched");
    g.genes[0] = 0;
    g.genes[1] = static_cast<int32_t>(r - resolution_genes.begin());
    for (size_t i = 2; i < g.genes.size(); ++i)
      if (g.genes[i] < 0 || g.genes[i] >= gene_cardinality(inner, i))
        throw Error(where + ": gene " + std::to_string(i) + " out of range");
    return g;
  }
};

Scope make_scope(const SearchSpace& space, const SearchOptions& o) {
  validate(space);
  Scope s;
  if (o.width == 0) {
    if (space.widths.size() != 1)
      throw Error("search: space '" + space.name + "' has " + std::to_string(space.widths.size()) +
                  " widths; choose the one to search (width)");
    s.width_gene = 0;
  } else {
    s.width_gene = width_index(space, o.width);
    if (s.width_gene < 0)
      throw Error("search: width " + std::to_string(o.width) + " is not one of space '" +
                  space.name + "'");
  }
  std::vector<int32_t> res = o.resolutions.empty() ? space.resolutions : o.resolutions;
  std::sort(res.begin(), res.end());
  res.erase(std::unique(res.begin(), res.end()), res.end());
  for (int32_t r : res) {
    const int32_t i = resolution_index(space, r);
    if (i < 0)
      throw Error("search: resolution " + std::to_string(r) + " is not one of space '" +
                  space.name + "'");
    s.resolution_genes.push_back(i);
  }
  s.inner = space;
  s.inner.widths = {space.widths[static_cast<size_t>(s.width_gene)]};
  s.inner.resolutions = res;
  return s;
}

void check_options(const SearchOptions& o) {
  auto bad = [](const std::string& m) { throw Error("search: " + m); };
  if (o.population < 1) bad("population must be at least 1");
  if (o.parents < 1 || o.parents > o.population)
    bad("parents must be between 1 and population (" + std::to_string(o.population) + "), got " +
        std::to_string(o.parents));
  if (o.mutation_count < 0 || o.crossover_count < 0)
    bad("mutation_count and crossover_count must be >= 0");
  if (o.generations < 0) bad("generations must be >= 0");
  if (o.generations > 0 && o.mutation_count + o.crossover_count < 1)
    bad("mutation_count + crossover_count must be at least 1");
  if (!(o.mutation_prob >= 0 && o.mutation_prob <= 1)) bad("mutation_prob must be in [0, 1]");
  if (o.max_draws < 1) bad("max_draws must be at least 1");
  if (o.evaluations < 0) bad("evaluations must be >= 0");
  if (o.predictor_screen < 1) bad("predictor_screen must be at least 1 (1: off)");
  if (o.predictor_min_history < 2) bad("predictor_min_history must be at least 2");
  if (!(o.predictor_ridge >= 0)) bad("predictor_ridge must be >= 0");
  if (o.hil_every < 0) bad("hil_every must be >= 0 (0: off)");
  if (o.hil_top < 1) bad("hil_top must be at least 1");
  if (o.hil_every > 0 && !o.on_board) bad("hil_every needs a board (on_board)");
}

// Hash of a genome's genes (FNV-1a over the 32-bit values).
struct GenesHash {
  size_t operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

std::string budget_text(const Budget& b, const std::string& mcu) {
  std::string s = "flash " + format_size(b.flash_bytes) + " / SRAM " + format_size(b.sram_bytes);
  if (b.latency_ms > 0) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " / latency %.4g ms", b.latency_ms);
    s += buf;
  }
  return s + " on " + mcu;
}

std::string resolutions_text(const std::vector<int32_t>& res) {
  std::string s = res.size() == 1 ? "resolution " : "resolutions ";
  for (size_t i = 0; i < res.size(); ++i) s += (i ? ", " : "") + std::to_string(res[i]);
  return s;
}

json genes_json(const Genome& g) { return g.genes; }

double json_double(const json& v) { return v.is_null() ? kNaN : v.get<double>(); }

// A drawn candidate that fits the budget.
struct Child {
  Genome genome;  // raw (inner)
  ArchSpec arch;
  CostReport cost;
  bool screened = false;
  double predicted = kNaN;
};

// A population member: its raw genome and its measured architecture.
struct Member {
  Genome genome;  // raw (inner)
  int64_t id = 0;
};

class Search {
 public:
  Search(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
         AccuracyEvaluator& evaluator, const SearchOptions& options)
      : o_(options), scope_(make_scope(space, options)), mcu_(mcu), base_latency_(mcu.latency),
        budget_(budget), evaluator_(evaluator) {
    check_options(options);
    r_.strategy = o_.strategy;
    r_.space = space.name;
    r_.mcu = mcu.name;
    r_.budget = budget;
    r_.width = scope_.inner.widths[0];
    r_.resolutions = scope_.inner.resolutions;
    r_.seed = o_.seed;
    target_evaluations_ =
        o_.evaluations > 0
            ? o_.evaluations
            : o_.population + int64_t{o_.generations} * (o_.mutation_count + o_.crossover_count);
  }

  SearchResult run() {
    // When even the cheapest corner does not fit, nothing will: say so at once.
    if (!smallest_fits())
      throw Error("search: no subnet of space '" + r_.space + "' at width " + width_text() + ", " +
                  resolutions_text(r_.resolutions) + " fits " + budget_text(budget_, mcu_.name) +
                  ": " + smallest_needs());
    if (!o_.checkpoint_path.empty() && std::filesystem::exists(o_.checkpoint_path)) load_checkpoint();
    while (!done()) {
      const int32_t g = next_generation_;
      GenerationStats stats;
      stats.generation = g;
      if (o_.strategy == SearchStrategy::kRandom) {
        random_generation(stats);
      } else if (g == 0) {
        initial_population(stats);
      } else {
        evolve(stats);
      }
      board_step(stats);
      finish_generation(stats);
      ++next_generation_;
      finalize();
      if (!o_.checkpoint_path.empty()) write_file_atomic(o_.checkpoint_path, checkpoint());
      if (o_.on_generation && !o_.on_generation(r_, stats)) return r_;
    }
    finalize();
    r_.completed = true;
    return r_;
  }

 private:
  bool done() const {
    if (o_.strategy == SearchStrategy::kRandom)
      return static_cast<int64_t>(r_.history.size()) >= target_evaluations_;
    return next_generation_ > o_.generations;
  }

  // ---- drawing under the budget ----

  // Calls make() until it yields a genome whose subnet fits the budget;
  // counts the rejected draws. Throws after max_draws.
  template <typename Make>
  Child draw(Make&& make, GenerationStats& stats, const char* what) {
    for (int64_t d = 0; d < o_.max_draws; ++d) {
      Genome g = make();
      decode(scope_.inner, g, scratch_);
      const CostReport cost = estimate_cost(scratch_, mcu_, budget_);
      if (cost.fits) return Child{std::move(g), scratch_, cost};
      ++stats.redraws;
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s in generation %d", what, stats.generation);
    give_up(buf);
  }

  [[noreturn]] void give_up(const std::string& what) const {
    throw Error("search: gave up after " + std::to_string(o_.max_draws) + " draws (" + what +
                "): none fits " + budget_text(budget_, mcu_.name) + " (space '" + r_.space +
                "' at width " + width_text() + ", " + resolutions_text(r_.resolutions) + "); " +
                smallest_needs() + "; raise max_draws or loosen the budget");
  }

  ArchSpec smallest_subnet() const { return smallest_arch(scope_.inner, 0, 0); }

  // The smallest subnet fits under some setting of the patch genes (when the
  // space has them) or layer by layer.
  bool smallest_fits() const {
    ArchSpec a = smallest_subnet();
    if (estimate_cost(a, mcu_, budget_).fits) return true;
    const PatchChoices& p = scope_.inner.patch;
    for (size_t gi = 0; gi < p.grids.size(); ++gi) {
      for (int32_t b = 0; b <= p.max_split_block; ++b) {
        a.patch = resolve_patch(scope_.inner, a, static_cast<int32_t>(gi), b);
        if (a.patch.enabled() && estimate_cost(a, mcu_, budget_).fits) return true;
      }
    }
    return false;
  }

  std::string smallest_needs() const {
    const ArchSpec a = smallest_subnet();
    const CostReport c = estimate_cost(a, mcu_, budget_);
    std::string s = "the smallest subnet (resolution " + std::to_string(a.resolution) +
                    ", minimum depth, kernel and expand) needs flash " +
                    format_size(c.flash_bytes) + " and SRAM " + format_size(c.peak_sram_bytes);
    if (budget_.latency_ms > 0) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " and %.4g ms", c.latency_ms);
      s += buf;
    }
    return s;
  }

  std::string width_text() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", r_.width);
    return buf;
  }

  // ---- measuring ----

  std::vector<int32_t> key_of(const Genome& inner_genome) const {
    return canonical_genome(scope_.inner, inner_genome).genes;
  }

  // Measures the children not yet in the cache, in one evaluator call, and
  // appends them to the history. Returns each child's history id.
  std::vector<int64_t> measure(const std::vector<Child>& children, GenerationStats& stats) {
    std::vector<int64_t> ids(children.size());
    std::vector<size_t> fresh;
    std::vector<ArchSpec> archs;
    int64_t next_id = static_cast<int64_t>(r_.history.size());
    for (size_t i = 0; i < children.size(); ++i) {
      const auto [it, inserted] = cache_.try_emplace(key_of(children[i].genome), next_id);
      ids[i] = it->second;
      if (!inserted) {
        ++stats.cache_hits;
        continue;
      }
      ++next_id;
      fresh.push_back(i);
      archs.push_back(children[i].arch);
    }
    if (archs.empty()) return ids;
    const std::vector<double> acc = evaluator_.evaluate(archs);
    if (acc.size() != archs.size())
      throw Error("search: the accuracy evaluator returned " + std::to_string(acc.size()) +
                  " values for " + std::to_string(archs.size()) + " architectures");
    for (size_t k = 0; k < fresh.size(); ++k) {
      if (!std::isfinite(acc[k]))
        throw Error("search: the accuracy evaluator returned a non-finite value for architecture " +
                    std::to_string(k) + " of generation " + std::to_string(stats.generation));
      const Child& c = children[fresh[k]];
      EvaluatedCandidate e;
      e.id = static_cast<int64_t>(r_.history.size());
      e.generation = stats.generation;
      e.genome = scope_.to_outer(canonical_genome(scope_.inner, c.genome));
      e.arch = c.arch;
      e.cost = c.cost;
      e.accuracy = acc[k];
      e.screened = c.screened;
      e.predicted_accuracy = c.predicted;
      record(std::move(e));
    }
    stats.evaluations += static_cast<int64_t>(fresh.size());
    return ids;
  }

  void record(EvaluatedCandidate e) {
    inner_canonical_.push_back(scope_.to_inner(e.genome, "search"));
    if (!e.dropped && (r_.best < 0 || e.accuracy > r_.history[static_cast<size_t>(r_.best)].accuracy))
      r_.best = e.id;
    r_.history.push_back(std::move(e));
  }

  bool dropped(int64_t id) const { return r_.history[static_cast<size_t>(id)].dropped; }

  // ---- the board in the loop ----

  // After every hil_every-th generation: the best hil_top of the population
  // not measured before go to the board; what breaks the budget leaves the
  // population, and a refitted latency model checks every later draw.
  void board_step(GenerationStats& stats) {
    if (o_.hil_every <= 0 || stats.generation % o_.hil_every != 0) return;
    std::vector<int64_t> ids;
    for (const Member& m : current_population()) {
      if (static_cast<int32_t>(ids.size()) >= o_.hil_top) break;
      const EvaluatedCandidate& e = r_.history[static_cast<size_t>(m.id)];
      if (e.board.is_null() && std::find(ids.begin(), ids.end(), m.id) == ids.end()) ids.push_back(m.id);
    }
    if (ids.empty()) return;
    BoardFeedback fb = o_.on_board(r_, stats.generation, ids);
    const auto asked = [&](int64_t id, const char* what) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        throw Error("search: the board answered for candidate " + std::to_string(id) + " (" + what +
                    "), which it was not asked about");
      return static_cast<size_t>(id);
    };
    for (auto& [id, m] : fb.measured) {
      if (m.is_null()) throw Error("search: the board's measurement of candidate " + std::to_string(id) + " is empty");
      r_.history[asked(id, "measured")].board = std::move(m);
      ++stats.board_measured;
    }
    for (int64_t id : ids)
      if (r_.history[static_cast<size_t>(id)].board.is_null())
        throw Error("search: the board did not answer for candidate " + std::to_string(id));
    for (int64_t id : fb.dropped) {
      EvaluatedCandidate& e = r_.history[asked(id, "dropped")];
      if (e.dropped) continue;
      ++stats.board_dropped;
      e.dropped = true;
      e.drop_reason = "board";
    }
    std::vector<int64_t> refit_dropped;
    if (fb.latency) {
      r_.refits.push_back({stats.generation + 1, *fb.latency});
      mcu_.latency = *fb.latency;
      for (EvaluatedCandidate& e : r_.history) {
        if (e.dropped || estimate_cost(e.arch, mcu_, budget_).fits) continue;
        e.dropped = true;
        e.drop_reason = "latency refit";
        refit_dropped.push_back(e.id);
      }
      stats.refit_dropped = static_cast<int64_t>(refit_dropped.size());
    }
    board_log_.push_back({{"generation", stats.generation},
                          {"ids", ids},
                          {"dropped", fb.dropped},
                          {"refit_dropped", refit_dropped}});
    apply_drops();
  }

  // After candidates were dropped (or loaded as dropped): out of the
  // population, and the best is the best of the rest.
  void apply_drops() {
    population_.erase(std::remove_if(population_.begin(), population_.end(),
                                     [&](const Member& m) { return dropped(m.id); }),
                      population_.end());
    r_.best = -1;
    for (const auto& e : r_.history)
      if (!e.dropped && (r_.best < 0 || e.accuracy > accuracy(r_.best))) r_.best = e.id;
  }

  // The MCU with the latency model in effect for `generation`.
  McuTarget mcu_at(int32_t generation) const {
    McuTarget m = mcu_;
    m.latency = base_latency_;
    for (const LatencyRefit& f : r_.refits)
      if (f.first_generation <= generation) m.latency = f.coeffs;
    return m;
  }

  double accuracy(int64_t id) const { return r_.history[static_cast<size_t>(id)].accuracy; }

  // ---- generations ----

  void initial_population(GenerationStats& stats) {
    Rng rng(derive_seed(o_.seed, 0));
    std::vector<Child> children;
    for (int32_t i = 0; i < o_.population; ++i)
      children.push_back(draw([&] { return sample(scope_.inner, rng); }, stats, "initial population"));
    stats.candidates = static_cast<int64_t>(children.size());
    const std::vector<int64_t> ids = measure(children, stats);
    population_.clear();
    for (size_t i = 0; i < children.size(); ++i) population_.push_back({children[i].genome, ids[i]});
    apply_drops();
  }

  void evolve(GenerationStats& stats) {
    Rng rng(derive_seed(o_.seed, static_cast<uint64_t>(stats.generation)));
    const std::vector<Member> parents = ranked(population_, o_.parents);
    if (parents.empty())
      throw Error("search: the board dropped every member of the population (" +
                  budget_text(budget_, mcu_.name) + "); loosen the budget or recalibrate the MCU");
    const auto pick = [&]() -> const Member& {
      return parents[rng.uniform(static_cast<uint32_t>(parents.size()))];
    };
    const bool screen = o_.predictor_screen > 1 &&
                        static_cast<int64_t>(r_.history.size()) >= o_.predictor_min_history;
    const int32_t factor = screen ? o_.predictor_screen : 1;
    std::vector<Child> mutated, crossed;
    for (int32_t i = 0; i < o_.mutation_count * factor; ++i) {
      const Member& p = pick();
      mutated.push_back(draw([&] { return mutate(scope_.inner, p.genome, o_.mutation_prob, rng); },
                             stats, "mutation"));
    }
    for (int32_t i = 0; i < o_.crossover_count * factor; ++i) {
      const Member& a = pick();
      const Member& b = pick();
      crossed.push_back(
          draw([&] { return crossover(scope_.inner, a.genome, b.genome, rng); }, stats, "crossover"));
    }
    stats.candidates = static_cast<int64_t>(mutated.size() + crossed.size());
    if (screen) {
      AccuracyPredictor predictor(scope_.inner, o_.predictor_ridge);
      std::vector<double> acc;
      acc.reserve(r_.history.size());
      for (const auto& e : r_.history) acc.push_back(e.accuracy);
      predictor.fit(inner_canonical_, acc);
      keep_best_predicted(predictor, mutated, o_.mutation_count, stats);
      keep_best_predicted(predictor, crossed, o_.crossover_count, stats);
    }
    std::vector<Child> children = std::move(mutated);
    children.insert(children.end(), std::make_move_iterator(crossed.begin()),
                    std::make_move_iterator(crossed.end()));
    const size_t before = r_.history.size();
    const std::vector<int64_t> ids = measure(children, stats);
    if (screen) {  // held out: measured now, not in the fit
      std::vector<double> predicted, measured;
      for (size_t i = before; i < r_.history.size(); ++i) {
        predicted.push_back(r_.history[i].predicted_accuracy);
        measured.push_back(r_.history[i].accuracy);
      }
      stats.predictor_kendall = kendall_tau(predicted, measured);
      stats.predictor_spearman = spearman_rho(predicted, measured);
    }
    population_ = parents;
    for (size_t i = 0; i < children.size(); ++i) population_.push_back({children[i].genome, ids[i]});
    apply_drops();  // a child may repeat an architecture the board dropped
  }

  // Keeps the `keep` children with the highest predicted accuracy, in draw order.
  void keep_best_predicted(const AccuracyPredictor& predictor, std::vector<Child>& children,
                           int32_t keep, GenerationStats& stats) {
    for (Child& c : children) {
      c.predicted = predictor.predict(c.genome);
      c.screened = true;
    }
    std::vector<size_t> order(children.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return children[a].predicted > children[b].predicted;
    });
    order.resize(std::min(order.size(), static_cast<size_t>(keep)));
    std::sort(order.begin(), order.end());
    std::vector<Child> kept;
    for (size_t i : order) kept.push_back(std::move(children[i]));
    stats.screened_out += static_cast<int64_t>(children.size() - kept.size());
    children = std::move(kept);
  }

  void random_generation(GenerationStats& stats) {
    Rng rng(derive_seed(o_.seed, static_cast<uint64_t>(stats.generation)));
    const int64_t batch = std::min<int64_t>(
        stats.generation == 0 ? o_.population : o_.mutation_count + o_.crossover_count,
        target_evaluations_ - static_cast<int64_t>(r_.history.size()));
    std::vector<Child> children;
    std::unordered_map<std::vector<int32_t>, int, GenesHash> pending;
    int64_t repeats = 0;  // consecutive draws of measured architectures
    while (static_cast<int64_t>(children.size()) < batch) {
      Child c = draw([&] { return sample(scope_.inner, rng); }, stats, "random search");
      ++stats.candidates;
      std::vector<int32_t> key = key_of(c.genome);
      if (cache_.count(key) != 0 || !pending.emplace(std::move(key), 0).second) {
        ++stats.cache_hits;
        if (++repeats >= o_.max_draws)
          throw Error("search: random search found only " +
                      std::to_string(r_.history.size() + children.size()) +
                      " distinct fitting subnets of space '" + r_.space + "' (" +
                      std::to_string(target_evaluations_) + " asked for): " +
                      std::to_string(o_.max_draws) + " draws in a row repeated one");
        continue;
      }
      repeats = 0;
      children.push_back(std::move(c));
    }
    measure(children, stats);
  }

  // The `n` best members (accuracy, then the earlier measured), best first.
  std::vector<Member> ranked(const std::vector<Member>& members, size_t n) const {
    std::vector<Member> out = members;
    std::stable_sort(out.begin(), out.end(), [&](const Member& a, const Member& b) {
      const double x = accuracy(a.id), y = accuracy(b.id);
      return x != y ? x > y : a.id < b.id;
    });
    out.resize(std::min(out.size(), n));
    return out;
  }

  void finish_generation(GenerationStats& stats) {
    if (r_.best >= 0) {
      stats.best_id = r_.best;
      stats.best_accuracy = accuracy(r_.best);
    }
    const std::vector<Member> members = current_population();
    double sum = 0;
    for (const Member& m : members) sum += accuracy(m.id);
    stats.mean_accuracy = members.empty() ? 0 : sum / static_cast<double>(members.size());
    r_.generations.push_back(stats);
  }

  // Evolution: the population; random search: its `population` best so far.
  std::vector<Member> current_population() const {
    if (o_.strategy == SearchStrategy::kEvolution) return ranked(population_, population_.size());
    std::vector<Member> all;
    for (const auto& e : r_.history)
      if (!e.dropped) all.push_back({Genome{}, e.id});
    return ranked(all, static_cast<size_t>(o_.population));
  }

  void finalize() {
    r_.population.clear();
    for (const Member& m : current_population()) r_.population.push_back(m.id);
    r_.evaluations = static_cast<int64_t>(r_.history.size());
    r_.redraws = r_.cache_hits = 0;
    for (const auto& s : r_.generations) {
      r_.redraws += s.redraws;
      r_.cache_hits += s.cache_hits;
    }
  }

  // ---- checkpoint ----

  json config() const {
    return {{"strategy", strategy_name(o_.strategy)},
            {"population", o_.population},
            {"parents", o_.parents},
            {"mutation_count", o_.mutation_count},
            {"crossover_count", o_.crossover_count},
            {"generations", o_.generations},
            {"mutation_prob", o_.mutation_prob},
            {"seed", o_.seed},
            {"max_draws", o_.max_draws},
            {"width", r_.width},
            {"resolutions", r_.resolutions},
            {"evaluations", o_.strategy == SearchStrategy::kRandom ? target_evaluations_ : 0},
            {"predictor_screen", o_.predictor_screen},
            {"predictor_min_history", o_.predictor_min_history},
            {"predictor_ridge", o_.predictor_ridge},
            {"space", r_.space},
            {"genome_length", genome_length(scope_.inner)},
            {"hil_every", o_.hil_every},
            {"hil_top", o_.hil_every > 0 ? o_.hil_top : 0},
            {"mcu", r_.mcu},
            {"budget",
             {{"flash_bytes", budget_.flash_bytes},
              {"sram_bytes", budget_.sram_bytes},
              {"latency_ms", budget_.latency_ms}}}};
  }

  // The checkpoint's text. History entries never change once measured, so
  // their JSON is kept and only the new ones are serialised each generation.
  std::string checkpoint() {
    for (; history_serialised_ < r_.history.size(); ++history_serialised_) {
      const EvaluatedCandidate& e = r_.history[history_serialised_];
      if (history_serialised_ > 0) history_text_ += ",\n";
      history_text_ += json{{"genome", genes_json(e.genome)},
                            {"generation", e.generation},
                            {"accuracy", e.accuracy},
                            {"screened", e.screened},
                            {"predicted", e.screened ? json(e.predicted_accuracy) : json(nullptr)}}
                           .dump();
    }
    json population = json::array();
    for (const Member& m : population_)
      population.push_back({{"id", m.id}, {"genome", genes_json(scope_.to_outer(m.genome))}});
    const json head = {{"format", kCheckpointFormat},
                       {"config", config()},
                       {"next_generation", next_generation_},
                       {"population", std::move(population)},
                       {"generations", generations_to_json(r_)},
                       {"board", board_log()},
                       {"latency_refits", latency_refits_to_json(r_.refits)}};
    std::string text = head.dump();
    text.pop_back();  // the closing brace: the history follows
    text += ",\"history\":[\n" + history_text_ + "\n]}\n";
    return text;
  }

  void load_checkpoint() {
    const std::string& path = o_.checkpoint_path;
    json root;
    try {
      root = json::parse(read_file(path));
    } catch (const json::exception& e) {
      throw Error(path + ": not a search checkpoint: " + e.what());
    }
    try {
      if (!root.is_object() || root.value("format", "") != kCheckpointFormat)
        throw Error(path + ": not a search checkpoint (format is not " +
                    std::string(kCheckpointFormat) + ")");
      const json ours = config();
      const json& theirs = root.at("config");
      for (const auto& [key, value] : ours.items()) {
        if (!theirs.contains(key) || theirs.at(key) != value)
          throw Error(path + ": written by another search (" + key + " " +
                      (theirs.contains(key) ? theirs.at(key).dump() : "missing") + ", this one " +
                      value.dump() + "); remove it to start afresh");
      }
      next_generation_ = root.at("next_generation").get<int32_t>();
      if (root.contains("latency_refits")) r_.refits = latency_refits_from_json(root.at("latency_refits"), path);
      for (const json& h : root.at("history")) {
        EvaluatedCandidate e;
        e.id = static_cast<int64_t>(r_.history.size());
        const std::string where = path + ": history " + std::to_string(e.id);
        e.genome.genes = h.at("genome").get<std::vector<int32_t>>();
        const Genome inner = scope_.to_inner(e.genome, where);
        if (canonical_genome(scope_.inner, inner) != inner) throw Error(where + ": genome not canonical");
        e.generation = h.at("generation").get<int32_t>();
        e.accuracy = h.at("accuracy").get<double>();
        e.screened = h.at("screened").get<bool>();
        e.predicted_accuracy = json_double(h.at("predicted"));
        e.arch = decode(scope_.inner, inner);
        e.cost = estimate_cost(e.arch, mcu_at(e.generation), budget_);
        if (!e.cost.fits)
          throw Error(where + ": no longer fits the budget (has the cost model or the MCU "
                              "changed?); remove the checkpoint to start afresh");
        if (!cache_.emplace(inner.genes, e.id).second) throw Error(where + ": measured twice");
        record(std::move(e));
      }
      for (const json& p : root.at("population")) {
        const int64_t id = p.at("id").get<int64_t>();
        if (id < 0 || id >= static_cast<int64_t>(r_.history.size()))
          throw Error(path + ": population member " + std::to_string(id) + " not in the history");
        Genome g;
        g.genes = p.at("genome").get<std::vector<int32_t>>();
        population_.push_back({scope_.to_inner(g, path + ": population"), id});
      }
      for (const json& s : root.at("generations")) {
        GenerationStats g;
        g.generation = s.at("generation").get<int32_t>();
        g.candidates = s.at("candidates").get<int64_t>();
        g.redraws = s.at("redraws").get<int64_t>();
        g.evaluations = s.at("evaluations").get<int64_t>();
        g.cache_hits = s.at("cache_hits").get<int64_t>();
        g.screened_out = s.at("screened_out").get<int64_t>();
        g.best_accuracy = s.at("best_accuracy").get<double>();
        g.best_id = s.at("best_id").get<int64_t>();
        g.mean_accuracy = s.at("mean_accuracy").get<double>();
        g.predictor_kendall = json_double(s.at("predictor_kendall"));
        g.predictor_spearman = json_double(s.at("predictor_spearman"));
        g.board_measured = s.value("board_measured", int64_t{0});
        g.board_dropped = s.value("board_dropped", int64_t{0});
        g.refit_dropped = s.value("refit_dropped", int64_t{0});
        r_.generations.push_back(g);
      }
      if (root.contains("board")) load_board(root.at("board"), path);
      if (!r_.refits.empty()) mcu_.latency = r_.refits.back().coeffs;
    } catch (const json::exception& e) {
      throw Error(path + ": not a valid search checkpoint: " + e.what());
    }
    if (static_cast<int32_t>(r_.generations.size()) != next_generation_)
      throw Error(path + ": not a valid search checkpoint: " +
                  std::to_string(r_.generations.size()) + " generations recorded, next is " +
                  std::to_string(next_generation_));
    r_.resumed = true;
  }

  // The board's answers as the checkpoint keeps them: per board step the ids
  // asked about, the ones dropped, and per id its measurement. (Kept apart
  // from the history, whose serialised entries never change.)
  json board_log() const {
    json steps = json::array();
    for (const json& step : board_log_) {
      json m = json::object();
      for (const json& id : step.at("ids")) m[id.dump()] = r_.history[id.get<size_t>()].board;
      json s = step;
      s["measured"] = std::move(m);
      steps.push_back(std::move(s));
    }
    return steps;
  }

  void load_board(const json& steps, const std::string& path) {
    for (const json& step : steps) {
      const std::string where = path + ": board step of generation " + step.at("generation").dump();
      for (const json& id : step.at("ids")) {
        const int64_t i = id.get<int64_t>();
        if (i < 0 || i >= static_cast<int64_t>(r_.history.size())) throw Error(where + ": candidate not in the history");
        r_.history[static_cast<size_t>(i)].board = step.at("measured").at(id.dump());
      }
      for (const char* list : {"dropped", "refit_dropped"}) {
        for (const json& id : step.at(list)) {
          const int64_t i = id.get<int64_t>();
          if (i < 0 || i >= static_cast<int64_t>(r_.history.size()))
            throw Error(where + ": candidate not in the history");
          EvaluatedCandidate& e = r_.history[static_cast<size_t>(i)];
          if (e.dropped) continue;
          e.dropped = true;
          e.drop_reason = std::string(list) == "dropped" ? "board" : "latency refit";
        }
      }
      board_log_.push_back({{"generation", step.at("generation")}, {"ids", step.at("ids")},
                            {"dropped", step.at("dropped")}, {"refit_dropped", step.at("refit_dropped")}});
    }
    apply_drops();
  }

  const SearchOptions& o_;
  Scope scope_;
  McuTarget mcu_;  // its latency model is refitted by the board in the loop
  std::array<OpLatencyCoeffs, kNumOpKinds> base_latency_;  // the MCU's own
  std::vector<json> board_log_;
  Budget budget_;
  AccuracyEvaluator& evaluator_;
  int64_t target_evaluations_ = 0;  // random search

  SearchResult r_;
  std::vector<Genome> inner_canonical_;  // per history id: the predictor's inputs
  std::unordered_map<std::vector<int32_t>, int64_t, GenesHash> cache_;  // canonical inner genes -> id
  std::vector<Member> population_;
  int32_t next_generation_ = 0;
  ArchSpec scratch_;
  std::string history_text_;  // the checkpoint's history entries so far
  size_t history_serialised_ = 0;
};

}  // namespace

std::vector<double> FunctionEvaluator::evaluate(const std::vector<ArchSpec>& archs) {
  std::vector<double> out;
  out.reserve(archs.size());
  for (const ArchSpec& a : archs) out.push_back(accuracy_(a));
  return out;
}

const char* strategy_name(SearchStrategy s) {
  return s == SearchStrategy::kRandom ? "random" : "evolution";
}

SearchStrategy parse_strategy(const std::string& name) {
  if (name == "evolution") return SearchStrategy::kEvolution;
  if (name == "random") return SearchStrategy::kRandom;
  throw Error("search strategy '" + name + "': expected evolution or random");
}

Genome canonical_genome(const SearchSpace& space, const Genome& genome) {
  if (genome.genes.size() != genome_length(space))
    throw Error("genome of length " + std::to_string(genome.genes.size()) +
                " does not fit space '" + space.name + "'");
  Genome g = genome;
  size_t off = 2;
  for (const StageChoices& stage : space.stages) {
    const int32_t slots = max_depth(stage);
    const int32_t d = g.genes[off];
    if (d < 0 || d >= static_cast<int32_t>(stage.depths.size()))
      throw Error("depth gene " + std::to_string(off) + " = " + std::to_string(d) + " is out of range");
    const int32_t depth = stage.depths[static_cast<size_t>(d)];
    for (int32_t j = depth; j < slots; ++j) {
      g.genes[off + 1 + 2 * static_cast<size_t>(j)] = 0;
      g.genes[off + 2 + 2 * static_cast<size_t>(j)] = 0;
    }
    off += 1 + 2 * static_cast<size_t>(slots);
  }
  if (space.patch.enabled()) {
    // The setting the genes decode to, written back as genes: a refused
    // setting becomes the one decoding repairs it to (none: grid 0, split 0).
    const PatchSpec patch = decode(space, g).patch;
    const auto& grids = space.patch.grids;
    const size_t p = patch_gene_offset(space);
    g.genes[p] = static_cast<int32_t>(std::find(grids.begin(), grids.end(), patch.n) - grids.begin());
    g.genes[p + 1] = patch.enabled() ? patch.split_block : 0;
  }
  return g;
}

SearchResult run_search(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                        AccuracyEvaluator& evaluator, const SearchOptions& options) {
  return Search(space, mcu, budget, evaluator, options).run();
}

}  // namespace tinynas
