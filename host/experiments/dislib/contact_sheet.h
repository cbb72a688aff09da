// The contact sheet of a dataset's renderer: a PNG a person can look at to check it, its images
// rendered by the backend's render op, a one-pixel grey border between them.
//
// dSprites (8-bit grey, 12 a row): every shape at every scale, a row each: ten orientations at
// the centre, then the top-left and bottom-right positions.
// 3D Shapes (RGB, 10 a row): rows 1 to 4 are the four shapes (cube, cylinder, sphere, capsule;
// floor hue 0.5, wall hue 0.7, object hue 0) at scales 0, 2, 5, 7 (orientation 7, 0 degrees),
// then at orientations 0, 3, 6, 8, 11, 14 (scale 4); rows 5, 6 and 7 sweep the floor, the wall
// and the object hue over its 10 values, the others as above, the shape cycling cube ..
// capsule (scale 4, orientation 7).
#pragma once
#include <string>

#include "xent/backend.h"
#include "xent/dislib.h"

namespace xent::dislib {

// Throws InputError naming the file when it cannot be written.
void write_contact_sheet(Backend& b, const Dataset& d, const std::string& path);

}  // namespace xent::dislib
