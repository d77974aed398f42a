"""The numbers behind the picture, pure: a frame's raw array as published, as ``.npy`` and FITS
files and raw tiles, and what one may ask of it (pixel, statistics, profile, histogram)."""
