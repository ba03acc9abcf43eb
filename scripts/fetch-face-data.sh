#!/bin/sh
# Test faces for the face-match tests (issue 29), taken from packages on PyPI rather
# than committed: the face_recognition 1.3.0 source distribution's tests/test_images
# (obama*.jpg, biden.jpg) and scikit-image's bundled sample images (astronaut.png,
# coffee.png). Run by `make face-data` (a dependency of `make test`); nothing here
# runs on a kiosk, and the kiosk never downloads anything at run time.
set -eu
PIP=${PIP:-.venv/bin/pip}
OUT=${1:-.cache/face-data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PIP" download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "face_recognition==1.3.0"
"$PIP" download -q --disable-pip-version-check --no-deps --only-binary :all: \
    -d "$tmp" "scikit-image==0.26.0"
mkdir -p "$OUT"
tar -xzf "$tmp"/face_recognition-1.3.0.tar.gz -C "$tmp"
for f in obama.jpg obama2.jpg obama3.jpg biden.jpg obama_partial_face.jpg; do
    cp "$tmp/face_recognition-1.3.0/tests/test_images/$f" "$OUT/$f"
done
python3 - "$tmp" "$OUT" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("astronaut.png", "coffee.png"):
        with open(f"{sys.argv[2]}/{name}", "wb") as out:
            out.write(z.read(f"skimage/data/{name}"))
PY
