#pragma once
// io/: NumPy .npy/.npz, IDX (MNIST) files, atomic writes, versioned archives of fitted objects.
// npz, idx and archive need zlib + minizip: link rnnabs::zip (io/npy.hpp and io/atomic_file.hpp
// alone work with rnnabs::rnnabs). png (grayscale pictures, image grids) needs libpng: rnnabs::png.
#include "rnnabs/io/archive.hpp"
#include "rnnabs/io/atomic_file.hpp"
#include "rnnabs/io/dtype.hpp"
#include "rnnabs/io/idx.hpp"
#include "rnnabs/io/npy.hpp"
#include "rnnabs/io/npz.hpp"
#include "rnnabs/io/text.hpp"
#if defined(RNNABS_HAVE_PNG)
#include "rnnabs/io/png.hpp"
#endif
