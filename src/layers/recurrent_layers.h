// Recurrent layers (SimpleRNN, LSTM, GRU, ConvLSTM2D) and the wrappers that apply a layer
// over time (Bidirectional, TimeDistributed). TF.js names and weight layouts.
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_simple_rnn(const Json& config, std::unique_ptr<Layer>* out);
Status make_lstm(const Json& config, std::unique_ptr<Layer>* out);
Status make_gru(const Json& config, std::unique_ptr<Layer>* out);
// conv_recurrent_layers.cc
Status make_conv_lstm2d(const Json& config, std::unique_ptr<Layer>* out);

Status make_bidirectional(const Json& config, std::unique_ptr<Layer>* out);
Status make_time_distributed(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
