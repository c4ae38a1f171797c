#include <gdal_priv.h>  // GDAL outside spatial/gdal_*.cpp
