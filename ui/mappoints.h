#pragma once
// Direct access to a model's positions, for the map: a model with many rows (the client table)
// offers its coordinate arrays, so the map draws a million clients without a data() call each.
#include <QtGlobal>

namespace herd {

// A model's points, in its storage order (not its row order). Valid until the model changes.
struct MapPointArrays {
    const float *lat = nullptr;      // degrees
    const float *lng = nullptr;
    const qint32 *rowOf = nullptr;   // the model row of each point, -1 if hidden (filtered out);
                                     // null: point i is row i
    int count = 0;
};

class MapPoints {
public:
    virtual ~MapPoints() = default;
    virtual MapPointArrays mapPoints() const = 0;
    virtual int pointOfRow(int row) const = 0;   // -1 for a row that is not a point
};

} // namespace herd
