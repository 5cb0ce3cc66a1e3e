#!/bin/sh
# Regenerates resources/map/coastline.bin from Natural Earth's 1:50m coastline as packaged in
# Debian (r-cran-rnaturalearthdata). Not run by the build or CI: the output is committed.
#
#   apt-get install r-base-core r-cran-sp r-cran-rnaturalearthdata
#   sh tools/make-coastline.sh [output]        # default resources/map/coastline.bin
#
# The format is described in resources/map/README.md. The output is deterministic: running it
# again on the same package version gives the same bytes.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/resources/map/coastline.bin}

for pkg in r-base-core r-cran-sp r-cran-rnaturalearthdata; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        echo "make-coastline: $pkg is not installed (apt-get install r-base-core r-cran-sp r-cran-rnaturalearthdata)" >&2
        exit 1
    fi
done
echo "make-coastline: source r-cran-rnaturalearthdata $(dpkg-query -W -f='${Version}' r-cran-rnaturalearthdata), coastline50"

HERD_COAST_OUT=$out Rscript --vanilla - <<'REOF'
suppressMessages(library(sp))
data("coastline50", package = "rnaturalearthdata")

unit <- 1e4                        # 1e-4 degree (about 11 m): 1:50m data is good to ~1 km
full <- 180 * unit

# Integer coordinates, so that the stitching below compares exactly.
lines <- list()
for (L in coastline50@lines) for (l in L@Lines) {
    xy <- round(l@coords * unit)
    storage.mode(xy) <- "integer"
    lines[[length(lines) + 1]] <- xy
}
isClosed <- function(xy) all(xy[1, ] == xy[nrow(xy), ])
near <- function(a, b) all(abs(a - b) <= 1)        # 1e-4 degree: the same vertex

# Natural Earth cuts a few shores into pieces (at 110 W in the Canadian Arctic, at the
# antimeridian). Join pieces end to start so that every shore becomes one ring.
closed <- Filter(isClosed, lines)
open <- Filter(Negate(isClosed), lines)
pieces <- length(open)
repeat {
    joined <- FALSE
    for (i in seq_along(open)) {
        a <- open[[i]]
        for (j in seq_along(open)) {
            if (i == j) next
            b <- open[[j]]
            if (near(a[nrow(a), ], b[1, ])) {
                open[[i]] <- rbind(a, b[-1, , drop = FALSE])
                open[[j]] <- NULL
                joined <- TRUE
                break
            }
        }
        if (joined) break
    }
    if (!joined) break
}
cat(sprintf("make-coastline: %d open lines joined into %d\n", pieces, length(open)))
# Close what is left so the rings can be filled. Antarctica runs from -180 to +180: close it
# along the south pole edge of the map. The others end on the antimeridian (or, once, with a
# small gap): a straight edge closes them.
for (xy in open) {
    if (near(xy[1, ], xy[nrow(xy), ])) {
        xy[nrow(xy), ] <- xy[1, ]
    } else {
        if (abs(xy[1, 1]) == full && abs(xy[nrow(xy), 1]) == full && xy[1, 1] != xy[nrow(xy), 1]) {
            pole <- -90L * as.integer(unit)
            xy <- rbind(xy, c(xy[nrow(xy), 1], pole), c(xy[1, 1], pole))
        }
        xy <- rbind(xy, xy[1, ])
    }
    closed[[length(closed) + 1]] <- xy
}

# Drop consecutive duplicate vertices and the repeated closing vertex (the reader closes).
rings <- lapply(closed, function(xy) {
    keep <- c(TRUE, rowSums(abs(diff(xy))) > 0)
    xy <- xy[keep, , drop = FALSE]
    if (nrow(xy) > 1 && all(xy[1, ] == xy[nrow(xy), ])) xy <- xy[-nrow(xy), , drop = FALSE]
    xy
})
rings <- Filter(function(xy) nrow(xy) >= 3, rings)

# LEB128 varints; signed values zigzag-encoded (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...).
varint <- function(v) {
    v <- as.numeric(v)
    out <- vector("list", length(v))
    for (k in seq_along(v)) {
        z <- v[k]
        bytes <- integer(0)
        repeat {
            b <- z %% 128
            z <- z %/% 128
            if (z > 0) { bytes <- c(bytes, b + 128) } else { bytes <- c(bytes, b); break }
        }
        out[[k]] <- bytes
    }
    unlist(out)
}
zigzag <- function(d) ifelse(d >= 0, 2 * d, -2 * d - 1)

body <- list(varint(unit), varint(length(rings)))
for (xy in rings) {
    d <- rbind(xy[1, ], diff(xy))                      # deltas from the previous vertex
    body[[length(body) + 1]] <- varint(nrow(xy))
    body[[length(body) + 1]] <- varint(zigzag(as.vector(t(d))))   # lng, lat, lng, lat ...
}
bytes <- c(as.integer(charToRaw("HERDCST1")), unlist(body))
out <- Sys.getenv("HERD_COAST_OUT")
writeBin(as.raw(bytes), out)
cat(sprintf("make-coastline: %d rings, %d vertices, %d bytes -> %s\n",
            length(rings), sum(sapply(rings, nrow)), length(bytes), out))
REOF
