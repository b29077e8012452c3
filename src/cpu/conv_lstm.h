// ConvLSTM2D (TF.js's ConvLSTM2D / ConvLSTM2DCell): an LSTM whose products
// are 2-D convolutions, on raw NHWC float buffers.
//
//   x        [batch, steps, h, w, c]
//   kernel   [kh, kw, c, 4F]      the input convolution (strides, padding, dilation)
//   recurrent[kh, kw, F, 4F]      the recurrent one ('same', stride 1)
//   bias     [4F] or null         gate blocks i, f, c, o (Keras order)
//   h0, c0   [batch, oh, ow, F] or null (zeros)
//   z = conv(x_t, kernel) + bias + conv(h, recurrent)
//   i = ra(z_i), f = ra(z_f), o = ra(z_o), c' = f * c + i * act(z_c), h' = o * act(c')
//
// Steps run from the last input to the first with go_backwards; y_seq
// [batch, steps, oh, ow, F] holds the outputs in processing order (as
// TF.js's rnn()). Saved for the backward pass (conv_lstm_saved_floats): the
// pre-activations, the cell states and the h each step started from.
#pragma once
#include <cstdint>

#include "core/activation.h"
#include "cpu/conv2d.h"

namespace kiln {

struct ConvLstmParams {
  int64_t batch = 0, steps = 0, filters = 0;
  Conv2DParams input_conv;      // batch = batch * steps images of x, out_c = 4 * filters
  Conv2DParams recurrent_conv;  // batch images of h, in_c = filters, out_c = 4 * filters, 'same'
  Activation activation = Activation::kTanh, recurrent_activation = Activation::kHardSigmoid;
  bool go_backwards = false;
  int64_t positions() const { return input_conv.out_h * input_conv.out_w; }
  int64_t state_floats() const { return batch * positions() * filters; }  // one h or c
};

// Fills *out; errors name what does not fit (an output smaller than 1x1, a bad size).
Status conv_lstm_params(int64_t batch, int64_t steps, int64_t h, int64_t w, int64_t c, int64_t filters, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same_padding, Activation act, Activation ra,
                        bool go_backwards, ConvLstmParams* out);

int64_t conv_lstm_saved_floats(const ConvLstmParams& p);
// Scratch (cpu/scratch.h): at least the thread-independent part must be lent;
// the convolutions' share may fall short (they then allocate).
int64_t conv_lstm_forward_scratch_floats(const ConvLstmParams& p);
int64_t conv_lstm_backward_scratch_floats(const ConvLstmParams& p);

void conv_lstm_forward(const ConvLstmParams& p, const float* x, const float* kernel, const float* recurrent,
                       const float* bias, const float* h0, const float* c0, float* y_seq, float* h_last, float* c_last,
                       float* saved, const Scratch& scratch);
// Gradients (each may be null; all overwritten) from dy_seq [batch, steps, oh, ow, F]
// (processing order; null = zeros) and dh_last / dc_last (null = zeros).
void conv_lstm_backward(const ConvLstmParams& p, const float* x, const float* kernel, const float* recurrent,
                        const float* h0, const float* c0, const float* saved, const float* dy_seq, const float* dh_last,
                        const float* dc_last, float* dx, float* dkernel, float* drecurrent, float* dbias, float* dh0,
                        float* dc0, const Scratch& scratch);

}  // namespace kiln
