#include "core/arch.h"

#include <gtest/gtest.h>

#include "core/arch_io.h"
#include "core/doc.h"
#include "core/error.h"
#include "tests/test_util.h"

#include <chrono>

namespace tinynas {
namespace {

using test_nets::tiny_arch;

using test_nets::error_of;

TEST(ArchTest, ValidArchitecturePasses) {
  EXPECT_NO_THROW(validate(tiny_arch()));
  EXPECT_EQ(tiny_arch().num_blocks(), 3);
  EXPECT_EQ(block_input_channels(tiny_arch()), (std::vector<int32_t>{8, 8, 16}));
}

TEST(ArchTest, ValidationNamesTheBlock) {
  ArchSpec a = tiny_arch();
  a.stages[1].blocks[0].stride = 3;
  EXPECT_NE(error_of([&] { validate(a); }).find("stage 1 block 0"), std::string::npos);

  a = tiny_arch();
  a.stages[1].blocks[1].kernel = 4;
  EXPECT_NE(error_of([&] { validate(a); }).find("kernel 4 must be odd"), std::string::npos);

  a = tiny_arch();
  a.stages[1].blocks[0].residual = true;  // stride 2 and 8 -> 16
  EXPECT_NE(error_of([&] { validate(a); }).find("residual block needs stride 1"), std::string::npos);

  a = tiny_arch();
  a.stages[0].blocks[0].mid_channels = 16;  // expand 1 must keep the input width
  EXPECT_NE(error_of([&] { validate(a); }).find("expand 1"), std::string::npos);

  a = tiny_arch();
  a.num_classes = 0;
  EXPECT_NE(error_of([&] { validate(a); }).find("num_classes"), std::string::npos);

  a = tiny_arch();
  a.stages.clear();
  EXPECT_NE(error_of([&] { validate(a); }).find("at least one stage"), std::string::npos);
}

TEST(ArchTest, MakeDivisibleMatchesOfa) {
  EXPECT_EQ(make_divisible(32 * 0.5, 8), 16);
  EXPECT_EQ(make_divisible(40 * 0.5, 8), 24);  // 20 rounds up to 24
  EXPECT_EQ(make_divisible(24 * 0.2, 8), 8);   // at least the divisor
  EXPECT_EQ(make_divisible(96 * 0.2, 8), 24);  // 16 would be >10% below 19.2
  EXPECT_EQ(make_divisible(320 * 0.7, 8), 224);
}

TEST(ArchTest, JsonRoundTripIsExact) {
  const ArchSpec a = tiny_arch();
  const std::string text = arch_to_json(a).dump(2);
  const ArchSpec b = arch_from_document(parse_document(text, "tiny.json"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(arch_to_json(b).dump(2), text);
}

TEST(ArchTest, ReadsNetConfigOfTheMcunetZoo) {
  const ArchSpec a = load_arch(std::string(TINYNAS_SOURCE_DIR) + "/configs/zoo/mcunet-in2.json");
  EXPECT_EQ(a.resolution, 160);
  EXPECT_EQ(a.first_conv.out_channels, 16);
  EXPECT_EQ(a.num_blocks(), 18);
  EXPECT_EQ(a.num_classes, 1000);
  EXPECT_EQ(a.feature_mix_channels, 0);
  // Block 3 of the zoo network has expand 5 and 80 mid channels: not one of
  // the space's ratios, and must be kept as published.
  const BlockSpec& b = a.stages[1].blocks[2];
  EXPECT_EQ(b.expand, 5);
  EXPECT_EQ(b.mid_channels, 80);
  EXPECT_TRUE(b.residual);
  // Stages are split where the stride or the width changes.
  EXPECT_EQ(a.stages.size(), 7u);
  EXPECT_EQ(a.stages[0].blocks.size(), 1u);
  EXPECT_EQ(a.stages[1].blocks.size(), 4u);
  EXPECT_EQ(a.stages[6].blocks[0].out_channels, 160);
  // And it survives a round trip through our own format.
  EXPECT_EQ(arch_from_document(parse_document(arch_to_json(a).dump(), "x.json")), a);
}

TEST(ArchTest, ResolutionOverride) {
  const ArchSpec a =
      load_arch(std::string(TINYNAS_SOURCE_DIR) + "/configs/zoo/mcunet-in2.json", 96);
  EXPECT_EQ(a.resolution, 96);
}

const char* kNetConfig = R"({
  "name": "ProxylessNASNets",
  "first_conv": {"name": "ConvLayer", "kernel_size": 3, "stride": 2, "in_channels": 3,
                 "out_channels": 16, "act_func": "relu6"},
  "blocks": [
    {"name": "MobileInvertedResidualBlock",
     "mobile_inverted_conv": {"name": "MBInvertedConvLayer", "in_channels": 16,
       "out_channels": 8, "kernel_size": 3, "stride": 1, "expand_ratio": 1,
       "mid_channels": null, "act_func": "relu6", "use_se": false},
     "shortcut": null},
    {"name": "MobileInvertedResidualBlock",
     "mobile_inverted_conv": {"name": "MBInvertedConvLayer", "in_channels": 8,
       "out_channels": 16, "kernel_size": 5, "stride": 2, "expand_ratio": 3,
       "mid_channels": null, "act_func": "relu6", "use_se": false},
     "shortcut": null}
  ],
  "feature_mix_layer": null,
  "classifier": {"name": "LinearLayer", "in_features": 16, "out_features": 2},
  "resolution": 64
})";

TEST(ArchTest, NetConfigWithoutMidChannelsRoundsInTimesExpand) {
  const ArchSpec a = arch_from_document(parse_document(kNetConfig, "n.json"));
  EXPECT_EQ(a.stages[1].blocks[0].mid_channels, 24);
  EXPECT_EQ(a.stages[1].blocks[0].expand, 3);
  EXPECT_EQ(a.num_classes, 2);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(ArchTest, NetConfigErrorsNameFileLineAndKey) {
  // Channels that do not chain: the second block claims 12 input channels.
  std::string bad = replace(kNetConfig, "\"in_channels\": 8,", "\"in_channels\": 12,");
  std::string msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("bad.json:12"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in_channels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;

  bad = replace(kNetConfig, "\"in_features\": 16", "\"in_features\": 32");
  msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("in_features"), std::string::npos) << msg;

  bad = replace(kNetConfig, "\"use_se\": false},\n     \"shortcut\": null},\n    {",
                "\"use_se\": true},\n     \"shortcut\": null},\n    {");
  msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("squeeze-and-excitation"), std::string::npos) << msg;

  bad = replace(kNetConfig, "\"resolution\": 64", "\"resolutio\": 64");
  msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("resolution"), std::string::npos) << msg;

  bad = replace(kNetConfig, "\"kernel_size\": 5", "\"kernel_size\": \"five\"");
  msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("kernel_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.json:"), std::string::npos) << msg;

  bad = replace(kNetConfig, "\"act_func\": \"relu6\"}", "\"act_func\": \"h_swish\"}");
  msg = error_of([&] { arch_from_document(parse_document(bad, "bad.json")); });
  EXPECT_NE(msg.find("h_swish"), std::string::npos) << msg;
}

TEST(ArchTest, OwnFormatErrors) {
  nlohmann::json j = arch_to_json(tiny_arch());
  j["stages"][1]["blocks"][1]["out_channels"] = 24;  // residual with 16 -> 24
  std::string msg = error_of([&] { arch_from_document(parse_document(j.dump(2), "a.json")); });
  EXPECT_NE(msg.find("a.json:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("residual"), std::string::npos) << msg;

  j = arch_to_json(tiny_arch());
  j["format"] = "something-else";
  msg = error_of([&] { arch_from_document(parse_document(j.dump(2), "a.json")); });
  EXPECT_NE(msg.find("unknown format"), std::string::npos) << msg;

  msg = error_of([&] { arch_from_document(parse_document("[1, 2]", "a.json")); });
  EXPECT_NE(msg.find("object"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// Issue 12: limits that keep every cost figure inside int64, named in the
// message; validation linear in the number of blocks.
TEST(ArchLimits, SizesPastTheLimitsAreRefusedByName) {
  ArchSpec a = test_nets::tiny_arch();
  a.stages[0].blocks[0].mid_channels = kMaxArchChannels + 1;
  a.stages[0].blocks[0].expand = 6;
  EXPECT_NE(test_nets::error_of([&] { validate(a); }).find("exceeds the limit of 16384 channels"), std::string::npos);
  a = test_nets::tiny_arch();
  a.num_classes = kMaxArchClasses + 1;
  EXPECT_NE(test_nets::error_of([&] { validate(a); }).find("num_classes 100001 exceeds the limit"), std::string::npos);
  a = test_nets::tiny_arch();
  const BlockSpec last = a.stages.back().blocks.back();
  ASSERT_TRUE(last.residual);
  a.stages.back().blocks.assign(kMaxArchBlocks + 1, last);
  EXPECT_NE(test_nets::error_of([&] { validate(a); }).find("blocks exceed the limit of 512 blocks"), std::string::npos);
}

TEST(ArchLimits, ReadingManyBlocksIsLinear) {
  // 500 blocks read and validated in well under a second (the old reader
  // re-validated every prefix: quadratic, seconds at 5,000 blocks).
  nlohmann::json j = arch_to_json(test_nets::tiny_arch());
  const nlohmann::json block = j["stages"].back()["blocks"].back();
  j["stages"].back()["blocks"] = nlohmann::json::array({j["stages"].back()["blocks"][0]});
  for (int i = 1; i < 500; ++i) j["stages"].back()["blocks"].push_back(block);
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 10; ++rep) {
    const ArchSpec a = arch_from_document(parse_document(j.dump(1), "many.json"));
    EXPECT_EQ(a.stages.back().blocks.size(), 500u);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
  // One more block than the limit is refused at that block's line.
  for (int i = 0; i < kMaxArchBlocks; ++i) j["stages"].back()["blocks"].push_back(block);
  const std::string e = test_nets::error_of([&] { arch_from_document(parse_document(j.dump(1), "many.json")); });
  EXPECT_NE(e.find("more than 512 blocks (the limit of an architecture)"), std::string::npos) << e;
  EXPECT_EQ(e.rfind("many.json:", 0), 0u) << e;
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// Patch-based inference settings: tiny_arch's blocks put out 16x16 (b0),
// 8x8 (b1) and 8x8 (b2); the receptive field of one output pixel is 7 input
// pixels at b0, 15 at b1 and 23 at b2.
ArchSpec tiny_patched(int32_t n, int32_t split_block) {
  ArchSpec a = tiny_arch();
  a.patch = {n, split_block};
  return a;
}

TEST(ArchPatchTest, ReceptiveFieldAndMapSizes) {
  const ArchSpec a = tiny_arch();
  EXPECT_EQ(receptive_field(a, 0), 7);   // 1 + 2 (conv) + 2*2 (b0 k3 after stride 2)
  EXPECT_EQ(receptive_field(a, 1), 15);  // + 4*2 (b1 k5)
  EXPECT_EQ(receptive_field(a, 2), 23);  // + 2*4 (b2 k3 after stride 4)
  EXPECT_EQ(block_output_sizes(a), (std::vector<int32_t>{16, 8, 8}));
  EXPECT_EQ(block_name(a, 2), "block 2 (stage 1 block 1)");
}

TEST(ArchPatchTest, ValidSettingsPass) {
  EXPECT_NO_THROW(validate(tiny_patched(2, 0)));
  EXPECT_NO_THROW(validate(tiny_patched(2, 1)));  // share 16 >= field 15
  EXPECT_NO_THROW(validate(tiny_patched(4, 0)));  // share 8 >= field 7
  EXPECT_EQ(patch_problem(tiny_arch()), "");
}

TEST(ArchPatchTest, EveryBadSettingIsRefusedByName) {
  auto message = [](const ArchSpec& a) { return error_of([&] { validate(a); }); };
  std::string msg = message(tiny_patched(1, 0));
  EXPECT_NE(msg.find("patch: 1x1 patches: the grid must be 2x2 to 16x16"), std::string::npos) << msg;
  msg = message(tiny_patched(17, 0));
  EXPECT_NE(msg.find("17x17 patches"), std::string::npos) << msg;
  msg = message(tiny_patched(0, 1));  // a split block without patches
  EXPECT_NE(msg.find("0x0 patches"), std::string::npos) << msg;
  msg = message(tiny_patched(2, 3));
  EXPECT_NE(msg.find("split block 3 is not a block of the network (0..2)"), std::string::npos) << msg;
  msg = message(tiny_patched(2, -1));
  EXPECT_NE(msg.find("split block -1 is not a block"), std::string::npos) << msg;
  msg = message(tiny_patched(3, 1));
  EXPECT_NE(msg.find("split block 1 (stage 1 block 0): its 8x8 output map does not divide into 3x3 "
                     "equal tiles"),
            std::string::npos)
      << msg;
  msg = message(tiny_patched(4, 1));  // 8 / 4 = 2-pixel tiles, but 8 pixels of 32 < field 15
  EXPECT_NE(msg.find("split block 1 (stage 1 block 0): each of the 4x4 patches owns 8 input pixels "
                     "per side, fewer than the 15-pixel receptive field"),
            std::string::npos)
      << msg;
  msg = message(tiny_patched(2, 2));  // share 16 < field 23
  EXPECT_NE(msg.find("split block 2 (stage 1 block 1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("23-pixel receptive field"), std::string::npos) << msg;
}

TEST(ArchPatchTest, JsonRoundTripAndAbsence) {
  const ArchSpec a = tiny_patched(2, 1);
  const nlohmann::json j = arch_to_json(a);
  ASSERT_TRUE(j.contains("patch"));
  EXPECT_EQ(j["patch"], (nlohmann::json{{"patches", 2}, {"split_block", 1}}));
  const ArchSpec b = arch_from_document(parse_document(j.dump(2), "p.json"));
  EXPECT_EQ(b.patch, (PatchSpec{2, 1}));
  EXPECT_EQ(b, a);
  EXPECT_FALSE(b == tiny_arch());  // the setting is part of the architecture
  // Not written when unset; absent or null reads as none.
  EXPECT_FALSE(arch_to_json(tiny_arch()).contains("patch"));
  nlohmann::json none = arch_to_json(tiny_arch());
  none["patch"] = nullptr;
  EXPECT_FALSE(arch_from_document(parse_document(none.dump(), "n.json")).patch.enabled());
  // MCUNet net.configs may carry one too.
  nlohmann::json zoo = load_document(test_nets::zoo_path("mcunet-vww1")).root;
  zoo["patch"] = {{"patches", 2}, {"split_block", 3}};
  EXPECT_EQ(arch_from_document(parse_document(zoo.dump(), "vww1.json")).patch, (PatchSpec{2, 3}));
}

TEST(ArchPatchTest, JsonErrorsNameTheFileAndKey) {
  nlohmann::json j = arch_to_json(tiny_arch());
  j["patch"] = {{"patches", 3}, {"split_block", 1}};
  std::string msg = error_of([&] { arch_from_document(parse_document(j.dump(2), "p.json")); });
  EXPECT_NE(msg.find("p.json:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("patch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not divide into 3x3"), std::string::npos) << msg;
  j["patch"] = {{"patches", 2}};
  msg = error_of([&] { arch_from_document(parse_document(j.dump(2), "p.json")); });
  EXPECT_NE(msg.find("split_block"), std::string::npos) << msg;
  j["patch"] = 4;
  msg = error_of([&] { arch_from_document(parse_document(j.dump(2), "p.json")); });
  EXPECT_NE(msg.find("patch"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tinynas
