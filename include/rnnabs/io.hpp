#pragma once
// io/: NumPy .npy/.npz, IDX (MNIST) files, atomic writes, versioned archives of fitted objects.
// npz, idx and archive need zlib + minizip (rnnabs::zip), png needs libpng (rnnabs::png); each is left
// out of this umbrella when its target is not linked.
#include "rnnabs/io/atomic_file.hpp"
#include "rnnabs/io/dtype.hpp"
#include "rnnabs/io/limits.hpp"
#include "rnnabs/io/npy.hpp"
#include "rnnabs/io/text.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#include "rnnabs/io/idx.hpp"
#include "rnnabs/io/npz.hpp"
#endif
#if defined(RNNABS_HAVE_PNG)
#include "rnnabs/io/png.hpp"
#endif
