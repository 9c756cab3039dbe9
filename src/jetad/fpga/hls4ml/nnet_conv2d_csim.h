// jetad: a C-simulation path for hls4ml's io_parallel Latency conv2d (nnet::conv_2d_latency_cl).
//
// Included by the project's nnet_conv2d_latency.h only when __SYNTHESIS__ is not defined (see
// jetad.fpga.csim): HLS synthesis sees hls4ml's own code, unchanged. hls4ml's function is renamed
// conv_2d_latency_cl_hls4ml there, and this file defines conv_2d_latency_cl, which either
//  - computes the same arithmetic on the raw integers of the ap_fixed values (64-bit), when the
//    types make that exact: products of <= 63 bits, an accumulator that wraps (AP_WRAP) and, when it
//    has fewer fractional bits than a product, truncates (AP_TRN: an arithmetic right shift of each
//    product, as the cast of each product to accum_t does); the sum then wraps modulo 2^64 and is
//    assigned to accum_t, which keeps its low bits: exactly the per-step wrap of hls4ml's adds.
//    The last cast to res_t is hls4ml's own nnet::cast;
//  - or calls hls4ml's function (always, with JETAD_AP_FIXED_CSIM defined: hls.csim ap_fixed).
// Why: hls4ml's C++ spends ~30 ns per multiply-accumulate in ap_fixed temporaries and in the
// generated im2col fill_buffer functions; the integer loop takes about a nanosecond.
#ifndef JETAD_NNET_CONV2D_CSIM_H_
#define JETAD_NNET_CONV2D_CSIM_H_

#include <type_traits>
#include <vector>

namespace nnet {

namespace jetad_csim {

template <class T> struct fixed_traits {
    static const bool is_fixed = false;
    static const int width = 0;
    static const int frac = 0;
    static const bool wraps = false;
    static const bool truncates = false;
};

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_traits<ap_fixed<W, I, Q, O, N>> {
    static const bool is_fixed = true;
    static const int width = W;
    static const int frac = W - I;
    static const bool wraps = O == AP_WRAP && N == 0;
    static const bool truncates = Q == AP_TRN;
};

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_traits<ap_ufixed<W, I, Q, O, N>> {
    static const bool is_fixed = true;
    static const int width = W;
    static const int frac = W - I;
    static const bool wraps = O == AP_WRAP && N == 0;
    static const bool truncates = Q == AP_TRN;
};

template <class data_T, typename CONFIG_T> struct conv_plan {
    typedef typename CONFIG_T::mult_config mult_config;
    typedef typename mult_config::weight_t weight_t;
    typedef typename CONFIG_T::accum_t accum_t;
    typedef fixed_traits<data_T> D;
    typedef fixed_traits<weight_t> Wt;
    typedef fixed_traits<accum_t> A;
    static const bool plain_product =
        std::is_same<typename mult_config::template product<data_T, weight_t>,
                     nnet::product::mult<data_T, weight_t>>::value;
    static const bool types_ok = D::is_fixed && Wt::is_fixed && A::is_fixed;
    // product fractional bits minus the accumulator's (> 0: each product is truncated)
    static const int shift = types_ok ? D::frac + Wt::frac - A::frac : 0;
    static const bool exact = types_ok && plain_product && D::width + Wt::width <= 63 && A::width <= 64 &&
                              A::wraps && (shift <= 0 || A::truncates) && shift > -64 && shift < 64;
};

#ifdef JETAD_AP_FIXED_CSIM
static const bool enabled = false; // hls.csim: ap_fixed, hls4ml's loops as written
#else
static const bool enabled = true;
#endif

template <class T> inline long long raw(const T &x) { return x.V.to_int64(); }

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_integer(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                     res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                     typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                         CONFIG_T::n_chan * CONFIG_T::n_filt],
                     typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef conv_plan<data_T, CONFIG_T> plan;
    typedef typename CONFIG_T::accum_t accum_t;
    const int H = CONFIG_T::in_height, W = CONFIG_T::in_width, C = CONFIG_T::n_chan;
    const int KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width, F = CONFIG_T::n_filt;
    const int OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
    const int SH = CONFIG_T::stride_height, SW = CONFIG_T::stride_width;
    const int PT = CONFIG_T::pad_top, PL = CONFIG_T::pad_left;
    const int shift = plan::shift;

    std::vector<long long> x(H * W * C);
    for (int i = 0; i < H * W * C; i++)
        x[i] = raw(data[i]);
    std::vector<long long> w(KH * KW * C * F);
    for (int i = 0; i < KH * KW * C * F; i++)
        w[i] = raw(weights[i]);
    std::vector<unsigned long long> bias(F);
    for (int f = 0; f < F; f++)
        bias[f] = (unsigned long long)raw((accum_t)biases[f]);
    std::vector<unsigned long long> acc(F);

    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int f = 0; f < F; f++)
                acc[f] = 0;
            for (int kh = 0; kh < KH; kh++) {
                const int ih = oh * SH + kh - PT;
                if (ih < 0 || ih >= H)
                    continue; // zero padding
                for (int kw = 0; kw < KW; kw++) {
                    const int iw = ow * SW + kw - PL;
                    if (iw < 0 || iw >= W)
                        continue;
                    const long long *xp = &x[(ih * W + iw) * C];
                    const long long *wp = &w[(kh * KW + kw) * C * F];
                    for (int c = 0; c < C; c++) {
                        const long long xv = xp[c];
                        const long long *wc = wp + c * F;
                        if (shift > 0) {
                            for (int f = 0; f < F; f++)
                                acc[f] += (unsigned long long)((xv * wc[f]) >> (shift > 0 ? shift : 0));
                        } else {
                            for (int f = 0; f < F; f++)
                                acc[f] += (unsigned long long)(xv * wc[f]);
                        }
                    }
                }
            }
            res_T *out = &res[(oh * OW + ow) * F];
            for (int f = 0; f < F; f++) {
                unsigned long long sum = acc[f];
                if (shift < 0)
                    sum <<= (shift < 0 ? -shift : 0);
                accum_t a;
                a.V = (long long)(sum + bias[f]);
                out[f] = nnet::cast<data_T, res_T, typename CONFIG_T::mult_config>(a);
            }
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_dispatch(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights,
                      typename CONFIG_T::bias_t *biases, std::true_type) {
    conv_2d_integer<data_T, res_T, CONFIG_T>(data, res, weights, biases);
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_dispatch(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights,
                      typename CONFIG_T::bias_t *biases, std::false_type) {
    conv_2d_latency_cl_hls4ml<data_T, res_T, CONFIG_T>(data, res, weights, biases);
}

} // namespace jetad_csim

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_latency_cl(
    data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
    res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
    typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan * CONFIG_T::n_filt],
    typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    jetad_csim::conv_2d_dispatch<data_T, res_T, CONFIG_T>(
        data, res, weights, biases,
        std::integral_constant<bool, jetad_csim::conv_plan<data_T, CONFIG_T>::exact && jetad_csim::enabled>());
}

} // namespace nnet

#endif
