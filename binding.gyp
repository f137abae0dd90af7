{
  # attn_native: fp32 GEMM addon (see src/backend/native/README.md).
  # The ISA-specific kernels are separate static libraries so that only they
  # get -mavx512f / -mavx2; everything else is baseline so the addon loads on
  # any x86-64 CPU and picks a kernel at run time (__builtin_cpu_supports).
  "target_defaults": {
    "cflags": ["-O3", "-std=gnu11", "-fPIC", "-fvisibility=hidden"],
    "cflags!": ["-O2"],
    "defines": ["NAPI_VERSION=8"],
    "xcode_settings": {
      "GCC_OPTIMIZATION_LEVEL": "3",
      "GCC_C_LANGUAGE_STANDARD": "gnu11",
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES"
    }
  },
  "targets": [
    {
      "target_name": "attn_native_avx512",
      "type": "static_library",
      "sources": ["src/backend/native/csrc/kernel_avx512.c"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags": ["-mavx512f", "-mavx512vl", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-mavx512f", "-mavx512vl", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "attn_native_avx2",
      "type": "static_library",
      "sources": ["src/backend/native/csrc/kernel_avx2.c"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-mavx2", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "attn_native",
      "dependencies": ["attn_native_avx512", "attn_native_avx2"],
      "sources": [
        "src/backend/native/csrc/binding.c",
        "src/backend/native/csrc/gemm.c",
        "src/backend/native/csrc/threadpool.c",
        "src/backend/native/csrc/kernel_portable.c",
        "src/backend/native/csrc/parallel.c",
        "src/backend/native/csrc/binding_ops.c",
        "src/backend/native/csrc/binding_nn.c",
        "src/backend/kernels/strided.c",
        "src/backend/kernels/elementwise.c",
        "src/backend/kernels/binary.c",
        "src/backend/kernels/copy.c",
        "src/backend/kernels/reduce.c",
        "src/backend/kernels/softmax.c",
        "src/backend/kernels/norm.c",
        "src/backend/kernels/embedding.c",
        "src/backend/kernels/adam.c",
        "src/backend/kernels/dropout.c"
      ],
      # The kernels (src/backend/kernels) vectorise sqrt only without errno.
      "cflags": ["-fno-math-errno"],
      "xcode_settings": { "OTHER_CFLAGS": ["-fno-math-errno"] },
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread", "-ldl", "-lm"] }]
      ]
    }
  ]
}
