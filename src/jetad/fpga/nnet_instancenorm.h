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

// Per-channel statistics on a channel-last buffer; returns the multiplier and offset so that
// y = x * mult + offs.
template <class data_T, typename CONFIG_T>
void instancenorm_stats(data_T data[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                        typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
                        typename CONFIG_T::bias_t bias[CONFIG_T::n_chan],
                        typename CONFIG_T::norm_t mult[CONFIG_T::n_chan],
                        typename CONFIG_T::accum_t offs[CONFIG_T::n_chan]) {
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
