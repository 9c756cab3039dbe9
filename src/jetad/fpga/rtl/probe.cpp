// Drives the Verilated top directly (not da4ml's binder, which assumes the latency it is told):
// per trial, B held for `edges` edges, A for edge 0, B again; prints the one edge after which
// the output reads out(A) and before and after which it reads out(B), or -1.
// @TOP@ and IN_WIDTH are filled in by jetad.fpga.rtl.flow.Design.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <type_traits>
#include <vector>
#include <verilated.h>
#include "@TOP@.h"

template <typename T> void put(T &port, const std::vector<uint32_t> &w) {
    if constexpr (std::is_integral_v<std::remove_reference_t<T>>) {
        uint64_t v = w[0] | (w.size() > 1 ? uint64_t(w[1]) << 32 : 0);
        port = static_cast<std::remove_reference_t<T>>(v);
    } else {
        for (size_t i = 0; i < w.size(); ++i) port[i] = w[i];
    }
}
template <typename T> std::vector<uint32_t> get(const T &port) {
    if constexpr (std::is_integral_v<std::remove_reference_t<T>>) {
        uint64_t v = port;
        return {uint32_t(v), uint32_t(v >> 32)};
    } else {
        std::vector<uint32_t> w;
        for (size_t i = 0; i < sizeof(port) / sizeof(uint32_t); ++i) w.push_back(port[i]);
        return w;
    }
}
std::vector<uint32_t> pattern(std::mt19937 &rng) {
    std::vector<uint32_t> w((IN_WIDTH + 31) / 32);
    for (auto &x : w) x = rng();
    if (IN_WIDTH % 32) w.back() &= (uint32_t(1) << (IN_WIDTH % 32)) - 1;
    return w;
}
int main(int argc, char **argv) {
    int trials = std::atoi(argv[1]), edges = std::atoi(argv[3]);
    std::mt19937 rng(std::atoi(argv[2]));
    auto dut = std::make_unique<@TOP@>();
    auto edge = [&]() { dut->clk = 0; dut->eval(); dut->clk = 1; dut->eval(); };
    for (int t = 0; t < trials; ++t) {
        auto a = pattern(rng), b = pattern(rng);
        put(dut->model_inp, a);
        for (int i = 0; i < edges; ++i) edge();
        auto out_a = get(dut->model_out);
        put(dut->model_inp, b);
        for (int i = 0; i < edges; ++i) edge();
        auto out_b = get(dut->model_out);
        if (out_a == out_b) continue;
        put(dut->model_inp, a);
        edge();  // edge 0 samples A
        put(dut->model_inp, b);
        int seen = -1, ok = 1;
        for (int k = 0; k < edges; ++k) {
            if (k > 0) edge();
            auto out = get(dut->model_out);
            if (out == out_a && seen < 0) seen = k;
            else if (out != out_b) ok = 0;
        }
        std::printf("%d\n", ok ? seen : -1);
    }
    dut->final();
    return 0;
}
