namespace rft { int avx2_library_marker = 1; }
