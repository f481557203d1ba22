// Thread CPU time of each of MobileNet V1's convolutions alone in oneDNN 2.6,
// in several layouts and kernels, and of the pointwise ones as one sgemm of
// the NHWC value; interleaved, best of REPS (docs/performance.md).
//
//   g++ -O3 -march=native tools/bench/onednn_mobilenet_layers.cpp -ldnnl -o
//   layers OMP_NUM_THREADS=1 ./layers [REPS]
#include <algorithm>
#include <cstdio>
#include <dnnl.hpp>
#include <functional>
#include <memory>
#include <string>
#include <time.h>
#include <vector>
using namespace dnnl;
using Tag = memory::format_tag;
static engine eng(engine::kind::cpu, 0);
static stream s(eng);
double cpu_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}
struct Prim {
  std::string name;
  primitive p;
  std::unordered_map<int, memory> args;
  std::function<void()> fn;
  void run() {
    if (fn) {
      fn();
      return;
    }
    p.execute(s, args);
    s.wait();
  }
};
Prim conv(int ic, int oc, int h, int k, int st, int g, Tag stag, Tag dtag,
          const char *want) {
  int oh = (h + 2 * (k / 2) - k) / st + 1;
  memory::desc src({1, ic, h, h}, memory::data_type::f32, stag);
  memory::desc dst({1, oc, oh, oh}, memory::data_type::f32, dtag);
  memory::desc wei =
      g > 1 ? memory::desc({g, oc / g, ic / g, k, k}, memory::data_type::f32,
                           Tag::any)
            : memory::desc({oc, ic, k, k}, memory::data_type::f32, Tag::any);
  memory::desc bia({oc}, memory::data_type::f32, Tag::a);
  convolution_forward::desc d(prop_kind::forward_inference,
                              algorithm::convolution_direct, src, wei, bia, dst,
                              {st, st}, {0, 0}, {k / 2, k / 2}, {k / 2, k / 2});
  post_ops po;
  po.append_eltwise(1.f, algorithm::eltwise_relu, 0, 0);
  primitive_attr attr;
  attr.set_post_ops(po);
  attr.set_scratchpad_mode(scratchpad_mode::user);
  convolution_forward::primitive_desc pd(d, attr, eng);
  bool found = true;
  while (want && std::string(pd.impl_info_str()).rfind(want, 0) != 0)
    if (!pd.next_impl()) {
      found = false;
      break;
    }
  Prim c{found ? pd.impl_info_str() : "none", convolution_forward(pd), {}};
  if (!found)
    return c;
  c.args = {{DNNL_ARG_SRC, memory(pd.src_desc(), eng)},
            {DNNL_ARG_DST, memory(pd.dst_desc(), eng)},
            {DNNL_ARG_WEIGHTS, memory(pd.weights_desc(), eng)},
            {DNNL_ARG_BIAS, memory(bia, eng)},
            {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), eng)}};
  for (auto &a : c.args) {
    float *p = (float *)a.second.get_data_handle();
    std::fill(p, p + a.second.get_desc().get_size() / 4, 0.01f);
  }
  return c;
}
Prim pool(int c, int h, Tag tag) {
  memory::desc src({1, c, h, h}, memory::data_type::f32, tag),
      dst({1, c, 1, 1}, memory::data_type::f32, tag);
  pooling_v2_forward::desc d(prop_kind::forward_inference,
                             algorithm::pooling_avg_exclude_padding, src, dst,
                             {1, 1}, {h, h}, {0, 0}, {0, 0}, {0, 0});
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  pooling_v2_forward::primitive_desc pd(d, attr, eng);
  Prim p{pd.impl_info_str(),
         pooling_v2_forward(pd),
         {{DNNL_ARG_SRC, memory(src, eng)},
          {DNNL_ARG_DST, memory(dst, eng)},
          {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), eng)}}};
  return p;
}
Prim reorder_(int c, int h, Tag a, Tag b) {
  memory m1({{1, c, h, h}, memory::data_type::f32, a}, eng),
      m2({{1, c, h, h}, memory::data_type::f32, b}, eng);
  return Prim{
      "reorder", reorder(m1, m2), {{DNNL_ARG_FROM, m1}, {DNNL_ARG_TO, m2}}};
}
int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  int reps = argc > 1 ? atoi(argv[1]) : 100;
  struct Layer {
    const char *what;
    int ic, oc, h, k, s, g, mult;
  };
  std::vector<Layer> layers = {{"first", 3, 32, 224, 3, 2, 1, 1}};
  int dw[][4] = {{32, 112, 1, 1}, {64, 112, 2, 1}, {128, 56, 1, 1},
                 {128, 56, 2, 1}, {256, 28, 1, 1}, {256, 28, 2, 1},
                 {512, 14, 1, 5}, {512, 14, 2, 1}, {1024, 7, 1, 1}};
  int pw[][4] = {{32, 64, 112, 1},  {64, 128, 56, 1},  {128, 128, 56, 1},
                 {128, 256, 28, 1}, {256, 256, 28, 1}, {256, 512, 14, 1},
                 {512, 512, 14, 5}, {512, 1024, 7, 1}, {1024, 1024, 7, 1}};
  for (int i = 0; i < 9; ++i) {
    layers.push_back(
        {"dw", dw[i][0], dw[i][0], dw[i][1], 3, dw[i][2], dw[i][0], dw[i][3]});
    layers.push_back({"pw", pw[i][0], pw[i][1], pw[i][2], 1, 1, 1, pw[i][3]});
  }
  const int V = 4;
  double total[V] = {};
  for (const Layer &l : layers) {
    std::vector<Prim> v;
    if (std::string(l.what) == "first") {
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nchw, Tag::any, nullptr));
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nchw, Tag::nhwc, nullptr));
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc, nullptr));
      v.push_back(reorder_(3, 224, Tag::nchw, Tag::nhwc));
    } else if (std::string(l.what) == "dw") {
      v.push_back(conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nChw16c,
                       Tag::nChw16c, nullptr));
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc, "brdgmm"));
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc, "jit_dw"));
      v.push_back(
          conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc, "jit_dw"));
    } else {
      v.push_back(conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nChw16c,
                       Tag::nChw16c, "jit_1x1"));
      v.push_back(conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc,
                       "brgconv_1x1"));
      v.push_back(conv(l.ic, l.oc, l.h, l.k, l.s, l.g, Tag::nhwc, Tag::nhwc,
                       "jit_1x1"));
      {
        int hw = l.h * l.h, ic = l.ic, oc = l.oc;
        auto x = std::make_shared<std::vector<float>>(hw * ic, 0.5f),
             w = std::make_shared<std::vector<float>>(ic * oc, 0.01f),
             y = std::make_shared<std::vector<float>>(hw * oc),
             b = std::make_shared<std::vector<float>>(oc, 0.1f);
        Prim g{"sgemm NHWC + bias/ReLU", primitive(), {}, [=] {
                 dnnl_sgemm('N', 'N', hw, oc, ic, 1.f, x->data(), ic, w->data(),
                            oc, 0.f, y->data(), oc);
                 for (int r = 0; r < hw; ++r) {
                   float *yr = y->data() + r * oc;
                   for (int c = 0; c < oc; ++c)
                     yr[c] = std::max(yr[c] + (*b)[c], 0.f);
                 }
               }};
        v.push_back(g);
      }
    }
    double best[V];
    std::fill(best, best + V, 1e30);
    for (int r = 0; r < reps; ++r)
      for (int k = 0; k < V; ++k) {
        if (v[k].name == "none")
          continue;
        double t0 = cpu_us();
        v[k].run();
        best[k] = std::min(best[k], cpu_us() - t0);
      }
    printf("%-5s %4d->%4d @%3d s%d x%d:", l.what, l.ic, l.oc, l.h, l.s, l.mult);
    for (int k = 0; k < V; ++k) {
      printf("  %-24s %7.1f", v[k].name.c_str(),
             v[k].name == "none" ? 0.0 : best[k]);
      total[k] += l.mult * (v[k].name == "none" ? 0 : best[k]);
    }
    printf("\n");
  }
  std::vector<Prim> p = {pool(1024, 7, Tag::nChw16c), pool(1024, 7, Tag::nhwc)};
  double pb[2] = {1e30, 1e30};
  for (int r = 0; r < reps; ++r)
    for (int k = 0; k < 2; ++k) {
      double t0 = cpu_us();
      p[k].run();
      pb[k] = std::min(pb[k], cpu_us() - t0);
    }
  printf("global pool nChw16c %s %.1f  nhwc %s %.1f\n", p[0].name.c_str(),
         pb[0], p[1].name.c_str(), pb[1]);
  printf("column totals: %.0f %.0f %.0f %.0f\n", total[0], total[1], total[2],
         total[3]);
}
