// Instance normalization (Keras GroupNormalization(groups=-1)) for hls4ml, channel-last.
//
// For every channel c of an image of n_pixels = height * width pixels:
//   mean_c = sum_p x[p, c] / n_pixels
//   var_c  = sum_p (x[p, c] - mean_c)^2 / n_pixels          (biased variance, as Keras)
//   y[p, c] = (x[p, c] - mean_c) * gamma_c / sqrt(var_c + epsilon) + beta_c
// Sums, mean and variance are fixed point (accum_t); the one reciprocal square root per channel is
// computed in single precision and cast to norm_t, then everything else is fixed point again.
// Written for jetad (not the authors' version, which mixed channel-first/last indexing and used
// the unbiased variance).
#ifndef NNET_INSTANCENORM_H_
#define NNET_INSTANCENORM_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include <cmath>
#include <type_traits>

namespace nnet {

struct instancenorm_config {
    typedef float accum_t;  // sums, mean, variance
    typedef float norm_t;   // 1/sqrt(var + eps) and gamma/sqrt(var + eps)
    typedef float scale_t;  // gamma
    typedef float bias_t;   // beta

    static const unsigned n_pixels = 4;
    static const unsigned n_chan = 1;
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
    static constexpr float epsilon = 1e-3f;
};

#ifndef __SYNTHESIS__
// C simulation only: the loops over pixels on the raw integers of the ap_fixed values (128-bit
// where a product needs it), reproducing each ap_fixed step: casts to accum_t and res_t truncate
// (AP_TRN: arithmetic right shift) and wrap (AP_WRAP: keep the low bits), which the integer code
// does in the same places. Per-channel values (mean, variance, 1/sqrt, multiplier, offset) stay in
// ap_fixed. Taken only when every type is ap_fixed with AP_TRN/AP_WRAP where a value is narrowed;
// otherwise, or with JETAD_AP_FIXED_CSIM defined (hls.csim: ap_fixed), the ap_fixed loops below
// run. Why: the ap_fixed temporaries of up to 80 bits made this layer most of the emulation time
// (jetad.fpga.csim); the integer loops give the same bits.
namespace instancenorm_csim {

template <class T> struct fixed {
    static const bool ok = false;
    static const int width = 0;
    static const int frac = 0;
    static const bool trn_wrap = false;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed<ap_fixed<W, I, Q, O, N>> {
    static const bool ok = true;
    static const int width = W;
    static const int frac = W - I;
    static const bool trn_wrap = Q == AP_TRN && O == AP_WRAP && N == 0;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed<ap_ufixed<W, I, Q, O, N>> {
    static const bool ok = true;
    static const int width = W;
    static const int frac = W - I;
    static const bool trn_wrap = false; // unsigned targets wrap differently: not needed here
};

template <class data_T, class res_T, typename CONFIG_T> struct plan {
    typedef fixed<data_T> D;
    typedef fixed<typename CONFIG_T::accum_t> A;
    typedef fixed<typename CONFIG_T::norm_t> N;
    typedef fixed<res_T> R;
    static const bool stats = D::ok && A::ok && A::trn_wrap && D::width <= 64 && A::width <= 62;
    static const bool apply = stats && N::ok && R::ok && R::trn_wrap && N::width <= 62 && R::width <= 64;
};

typedef __int128 wide;

// value with `from` fractional bits to `to` fractional bits: floor (AP_TRN) or exact left shift
inline wide refrac(wide v, int from, int to) {
    return from > to ? (v >> (from - to)) : (wide)((unsigned __int128)v << (to - from));
}
// keep the low `w` bits, sign-extended (AP_WRAP of a signed type)
inline wide wrap(wide v, int w) {
    return (wide)((unsigned __int128)v << (128 - w)) >> (128 - w);
}
template <class T> inline wide raw(const T &x) { return (wide)x.V.to_int64(); }
template <class T> inline T from_raw(wide v) {
    T t;
    t.V = (long long)v;
    return t;
}

template <class data_T, typename CONFIG_T>
bool stats(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan], typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
           typename CONFIG_T::bias_t bias[CONFIG_T::n_chan], typename CONFIG_T::norm_t mult[CONFIG_T::n_chan],
           typename CONFIG_T::accum_t offs[CONFIG_T::n_chan], std::false_type) {
    return false;
}

template <class data_T, typename CONFIG_T>
bool stats(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan], typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
           typename CONFIG_T::bias_t bias[CONFIG_T::n_chan], typename CONFIG_T::norm_t mult[CONFIG_T::n_chan],
           typename CONFIG_T::accum_t offs[CONFIG_T::n_chan], std::true_type) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::norm_t norm_t;
    const int fd = fixed<data_T>::frac, fa = fixed<accum_t>::frac, wa = fixed<accum_t>::width;
    const accum_t inv_n = 1.0 / CONFIG_T::n_pixels;
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        wide sum = 0; // sum += accum_t(x): each step wraps to accum_t
        for (unsigned p = 0; p < CONFIG_T::n_pixels; p++)
            sum += wrap(refrac(raw(data[p * CONFIG_T::n_chan + c]), fd, fa), wa);
        accum_t mean = from_raw<accum_t>(wrap(sum, wa)) * inv_n;
        const wide m0 = raw(mean);
        wide sum2 = 0; // sum2 += diff * diff: exact product, truncated to accum_t, wrapped
        for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
            wide diff = wrap(wrap(refrac(raw(data[p * CONFIG_T::n_chan + c]), fd, fa), wa) - m0, wa);
            sum2 = wrap(sum2 + refrac(diff * diff, 2 * fa, fa), wa);
        }
        accum_t var = from_raw<accum_t>(sum2) * inv_n;
        float inv_std = 1.0f / std::sqrt(static_cast<float>(var) + CONFIG_T::epsilon);
        norm_t m = static_cast<norm_t>(static_cast<float>(scale[c]) * inv_std);
        mult[c] = m;
        offs[c] = static_cast<accum_t>(bias[c]) - mean * m;
    }
    return true;
}

template <class data_T, class res_T, typename CONFIG_T>
bool apply(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan], res_T res[CONFIG_T::n_pixels * CONFIG_T::n_chan],
           typename CONFIG_T::norm_t mult[CONFIG_T::n_chan], typename CONFIG_T::accum_t offs[CONFIG_T::n_chan],
           std::false_type) {
    return false;
}

template <class data_T, class res_T, typename CONFIG_T>
bool apply(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan], res_T res[CONFIG_T::n_pixels * CONFIG_T::n_chan],
           typename CONFIG_T::norm_t mult[CONFIG_T::n_chan], typename CONFIG_T::accum_t offs[CONFIG_T::n_chan],
           std::true_type) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::norm_t norm_t;
    const int fd = fixed<data_T>::frac, fa = fixed<accum_t>::frac, wa = fixed<accum_t>::width;
    const int fn = fixed<norm_t>::frac, fr = fixed<res_T>::frac, wr = fixed<res_T>::width;
    // x * m + offs is exact in ap_fixed (fa + fn fractional bits, or fa if fn < 0), then cast
    const int fp = fa + fn > fa ? fa + fn : fa;
    wide m[CONFIG_T::n_chan], o[CONFIG_T::n_chan];
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        m[c] = raw(mult[c]);
        o[c] = refrac(raw(offs[c]), fa, fp);
    }
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            unsigned i = p * CONFIG_T::n_chan + c;
            wide x = wrap(refrac(raw(data[i]), fd, fa), wa);
            wide y = refrac(x * m[c], fa + fn, fp) + o[c];
            res[i] = from_raw<res_T>(wrap(refrac(y, fp, fr), wr));
        }
    }
    return true;
}

} // namespace instancenorm_csim
#endif

// Per-channel statistics on a channel-last buffer; returns the multiplier and offset so that
// y = x * mult + offs.
template <class data_T, typename CONFIG_T>
void instancenorm_stats(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                        typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
                        typename CONFIG_T::bias_t bias[CONFIG_T::n_chan],
                        typename CONFIG_T::norm_t mult[CONFIG_T::n_chan],
                        typename CONFIG_T::accum_t offs[CONFIG_T::n_chan]) {
#if !defined(__SYNTHESIS__) && !defined(JETAD_AP_FIXED_CSIM)
    if (instancenorm_csim::stats<data_T, CONFIG_T>(
            data, scale, bias, mult, offs,
            std::integral_constant<bool, instancenorm_csim::plan<data_T, data_T, CONFIG_T>::stats>()))
        return;
#endif
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::norm_t norm_t;
    const accum_t inv_n = 1.0 / CONFIG_T::n_pixels;

InstNormChan:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        accum_t sum = 0;
    InstNormSum:
        for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
            sum += static_cast<accum_t>(data[p * CONFIG_T::n_chan + c]);
        }
        accum_t mean = sum * inv_n;
        accum_t sum2 = 0;
    InstNormVar:
        for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
            accum_t diff = static_cast<accum_t>(data[p * CONFIG_T::n_chan + c]) - mean;
            sum2 += diff * diff;
        }
        accum_t var = sum2 * inv_n;
        float inv_std = 1.0f / std::sqrt(static_cast<float>(var) + CONFIG_T::epsilon);
        norm_t m = static_cast<norm_t>(static_cast<float>(scale[c]) * inv_std);
        mult[c] = m;
        offs[c] = static_cast<accum_t>(bias[c]) - mean * m;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void instancenorm(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan], res_T res[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                  typename CONFIG_T::scale_t scale[CONFIG_T::n_chan], typename CONFIG_T::bias_t bias[CONFIG_T::n_chan]) {
    typename CONFIG_T::norm_t mult[CONFIG_T::n_chan];
    typename CONFIG_T::accum_t offs[CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=mult complete
    #pragma HLS ARRAY_PARTITION variable=offs complete
    instancenorm_stats<data_T, CONFIG_T>(data, scale, bias, mult, offs);
#if !defined(__SYNTHESIS__) && !defined(JETAD_AP_FIXED_CSIM)
    if (instancenorm_csim::apply<data_T, res_T, CONFIG_T>(
            data, res, mult, offs,
            std::integral_constant<bool, instancenorm_csim::plan<data_T, res_T, CONFIG_T>::apply>()))
        return;
#endif
InstNormOut:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            unsigned i = p * CONFIG_T::n_chan + c;
            typename CONFIG_T::accum_t x = static_cast<typename CONFIG_T::accum_t>(data[i]);
            res[i] = static_cast<res_T>(x * mult[c] + offs[c]);
        }
    }
}

// io_stream: one packet per pixel holding all channels; the whole image is buffered because the
// statistics need every pixel before the first output.
template <class data_T, class res_T, typename CONFIG_T>
void instancenorm(hls::stream<data_T> &data, hls::stream<res_T> &res, typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
                  typename CONFIG_T::bias_t bias[CONFIG_T::n_chan]) {
    typename data_T::value_type buffer[CONFIG_T::n_pixels * CONFIG_T::n_chan];
    typename CONFIG_T::norm_t mult[CONFIG_T::n_chan];
    typename CONFIG_T::accum_t offs[CONFIG_T::n_chan];
InstNormRead:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        #pragma HLS PIPELINE
        data_T pack = data.read();
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            buffer[p * CONFIG_T::n_chan + c] = pack[c];
        }
    }
    instancenorm_stats<typename data_T::value_type, CONFIG_T>(buffer, scale, bias, mult, offs);
InstNormWrite:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        #pragma HLS PIPELINE
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            typename CONFIG_T::accum_t x = static_cast<typename CONFIG_T::accum_t>(buffer[p * CONFIG_T::n_chan + c]);
            out[c] = static_cast<typename res_T::value_type>(x * mult[c] + offs[c]);
        }
        res.write(out);
    }
}

} // namespace nnet

#endif
