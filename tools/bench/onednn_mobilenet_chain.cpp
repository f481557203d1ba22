// MobileNet V1's 27 convolutions as a chain of oneDNN 2.6 primitives in
// nChw16c, thread CPU time per pass (docs/performance.md): a buffer per value
// (as Hafnia's slots were), each pointwise fused with the depthwise after it
// (append_dw), or every value in one of two ping-pong buffers.
//
//   g++ -O2 tools/bench/onednn_mobilenet_chain.cpp -ldnnl -o chain
//   OMP_NUM_THREADS=1 ./chain [PASSES]
#include <algorithm>
#include <cstdio>
#include <dnnl.hpp>
#include <string>
#include <time.h>
#include <vector>
using namespace dnnl;
using Tag = memory::format_tag;
using dt = memory::data_type;
static engine eng(engine::kind::cpu, 0);
static stream s(eng);
double cpu_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}
struct Step {
  primitive p;
  std::unordered_map<int, memory> args;
  std::string name;
};
memory filled(const memory::desc &d) {
  memory m(d, eng);
  float *p = (float *)m.get_data_handle();
  std::fill(p, p + d.get_size() / 4, 0.01f);
  return m;
}
// conv of src (desc) -> returns step and dst desc
Step conv(const memory::desc &src, int oc, int k, int st, int g, bool fuse_dw,
          int dw_stride, memory::desc &dst_out) {
  auto dims = src.dims();
  int ic = dims[1], h = dims[2];
  int oh = (h + 2 * (k / 2) - k) / st + 1;
  memory::desc dst({1, oc, oh, oh}, dt::f32, Tag::nChw16c);
  memory::desc wei =
      g > 1 ? memory::desc({g, oc / g, ic / g, k, k}, dt::f32, Tag::any)
            : memory::desc({oc, ic, k, k}, dt::f32, Tag::any);
  memory::desc bia({oc}, dt::f32, Tag::a);
  convolution_forward::desc d(prop_kind::forward_inference,
                              algorithm::convolution_direct, src, wei, bia, dst,
                              {st, st}, {k / 2, k / 2}, {k / 2, k / 2});
  post_ops po;
  po.append_eltwise(1.f, algorithm::eltwise_relu, 0, 0);
  if (fuse_dw) {
    po.append_dw(dt::f32, dt::f32, dt::f32, 3, dw_stride, 1, 0, {});
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0, 0);
  }
  primitive_attr attr;
  attr.set_post_ops(po);
  attr.set_scratchpad_mode(scratchpad_mode::user);
  convolution_forward::primitive_desc pd(d, attr, eng);
  Step stp{convolution_forward(pd), {}, pd.impl_info_str()};
  stp.args = {{DNNL_ARG_SRC, memory()},
              {DNNL_ARG_DST, filled(pd.dst_desc())},
              {DNNL_ARG_WEIGHTS, filled(pd.weights_desc())},
              {DNNL_ARG_BIAS, filled(bia)},
              {DNNL_ARG_SCRATCHPAD, filled(pd.scratchpad_desc())}};
  if (fuse_dw) {
    stp.args[DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS] = filled(pd.query_md(
        query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS));
    stp.args[DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS] = filled(pd.query_md(
        query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS));
  }
  dst_out = pd.dst_desc();
  return stp;
}
int main(int argc, char **argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  int reps = argc > 1 ? atoi(argv[1]) : 30;
  int blocks[13][2] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                       {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                       {512, 1}, {1024, 2}, {1024, 1}};
  const char *names[3] = {"a buffer per value", "append_dw fused",
                          "ping-pong buffers"};
  std::vector<Step> chains[3];
  for (int variant = 0; variant < 3; ++variant) {
    bool fused = variant == 1;
    std::vector<Step> &c = chains[variant];
    memory::desc x({1, 3, 224, 224}, dt::f32, Tag::nchw), y;
    memory input = filled(x);
    c.push_back(conv(x, 32, 3, 2, 1, false, 0, y));
    c.back().args[DNNL_ARG_SRC] = input;
    int ch = 32;
    // block b: dw (stride blocks[b][1]) then pw to blocks[b][0]
    for (int b = 0; b < 13; ++b) {
      bool dw_fused_before = fused && b > 0;
      if (!dw_fused_before) {
        memory::desc z;
        c.push_back(conv(y, ch, 3, blocks[b][1], ch, false, 0, z));
        c.back().args[DNNL_ARG_SRC] = c[c.size() - 2].args[DNNL_ARG_DST];
        y = z;
      }
      bool fuse_next = fused && b + 1 < 13;
      memory::desc z;
      c.push_back(conv(y, blocks[b][0], 1, 1, 1, fuse_next,
                       fuse_next ? blocks[b + 1][1] : 0, z));
      c.back().args[DNNL_ARG_SRC] = c[c.size() - 2].args[DNNL_ARG_DST];
      y = z;
      ch = blocks[b][0];
    }
    if (variant ==
        2) { // every output in one of two buffers of the largest size
      size_t big = 0;
      for (auto &st : c)
        big = std::max(big, st.args[DNNL_ARG_DST].get_desc().get_size());
      static std::vector<float> ping(big / 4, 0.01f), pong(big / 4, 0.01f);
      for (size_t k = 0; k < c.size(); ++k) {
        memory d(c[k].args[DNNL_ARG_DST].get_desc(), eng,
                 (k % 2 ? pong : ping).data());
        c[k].args[DNNL_ARG_DST] = d;
        if (k + 1 < c.size())
          c[k + 1].args[DNNL_ARG_SRC] = d;
      }
    }
    printf("%s: %zu primitives:", names[variant], c.size());
    for (auto &st : c)
      printf(" %s", st.name.c_str());
    printf("\n");
  }
  std::vector<double> t[3];
  for (int r = 0; r < reps; ++r)
    for (int f = 0; f < 3; ++f) {
      double t0 = cpu_us();
      for (auto &st : chains[f])
        st.p.execute(s, st.args);
      s.wait();
      t[f].push_back(cpu_us() - t0);
    }
  for (int f = 0; f < 3; ++f) {
    std::sort(t[f].begin(), t[f].end());
    printf("%s: best %.0f median %.0f us\n", names[f], t[f][0],
           t[f][t[f].size() / 2]);
  }
}
