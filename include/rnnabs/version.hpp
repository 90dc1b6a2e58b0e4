#pragma once
// Library version; CMake parses these three lines, keep their shape.
#define RNNABS_VERSION_MAJOR 0
#define RNNABS_VERSION_MINOR 1
#define RNNABS_VERSION_PATCH 0

namespace rnnabs {
inline constexpr int version_major = RNNABS_VERSION_MAJOR;
inline constexpr int version_minor = RNNABS_VERSION_MINOR;
inline constexpr int version_patch = RNNABS_VERSION_PATCH;
}  // namespace rnnabs
