{
  # The native engine: one N-API addon. ISA-specific kernels live in their own static
  # libraries so each can be compiled with its own -m flags; the addon picks one at run
  # time from the CPU's features (see native/src/cpu.cc).
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fPIC", "-fexceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++14"],
    "cflags!": ["-fno-exceptions"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/src"],
    "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"]
  },
  "targets": [
    {
      "target_name": "rft_avx512",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f=>/_avx512\\.cc$/.test(f)).map(f=>'native/src/'+f).join(' ')\")"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma", "-mavx2", "-mf16c"]
    },
    {
      "target_name": "rft_avx512bf16",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f=>/_avx512bf16\\.cc$/.test(f)).map(f=>'native/src/'+f).join(' ')\")"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512bf16", "-mfma", "-mavx2", "-mf16c"]
    },
    {
      "target_name": "rft_avx2",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f=>/_avx2\\.cc$/.test(f)).map(f=>'native/src/'+f).join(' ')\")"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "rft_native",
      "dependencies": ["rft_avx512bf16", "rft_avx512", "rft_avx2"],
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f=>/\\.cc$/.test(f)&&!/_(avx512|avx512bf16|avx2)\\.cc$/.test(f)).map(f=>'native/src/'+f).join(' ')\")"],
      "libraries": ["-lpthread"]
    }
  ]
}
