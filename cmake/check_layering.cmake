# Fails when a lower layer includes a higher one, or when a heavy third-party
# header leaks out of the files allowed to include it.
#   cmake -DROOT=<source dir> -P cmake/check_layering.cmake
# Layers: base <- spatial <- core <- server <- tools (B <- A: A may include B).
if(NOT ROOT)
  message(FATAL_ERROR "pass -DROOT=<source dir>")
endif()

set(levels base spatial core server tools)
set(problems "")

foreach(dir IN LISTS levels)
  list(FIND levels ${dir} own_level)
  file(GLOB_RECURSE files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cpp")
  foreach(path IN LISTS files)
    file(RELATIVE_PATH rel "${ROOT}" "${path}")
    get_filename_component(name "${path}" NAME)
    file(STRINGS "${path}" includes REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS includes)
      if(line MATCHES "#[ \t]*include[ \t]*[\"<]([^\">]+)[\">]")
        set(header "${CMAKE_MATCH_1}")
      else()
        continue()
      endif()
      # Project headers: the layer is the first path component.
      if(header MATCHES "^([a-z_]+)/")
        list(FIND levels "${CMAKE_MATCH_1}" their_level)
        if(their_level GREATER own_level)
          string(APPEND problems
            "  ${rel}: includes ${header} (${dir} may not include ${CMAKE_MATCH_1})\n")
        endif()
      endif()
      # Third-party headers, each confined to one place.
      if(header MATCHES "^(gdal|ogr|cpl_)" AND
         NOT (dir STREQUAL "spatial" AND name MATCHES "^gdal_.*\\.cpp$"))
        string(APPEND problems
          "  ${rel}: includes ${header} (GDAL only in spatial/gdal_*.cpp)\n")
      endif()
      if(header STREQUAL "sqlite3.h" AND
         NOT (dir STREQUAL "core" AND name MATCHES "^sqlite_.*\\.cpp$"))
        string(APPEND problems
          "  ${rel}: includes sqlite3.h (only in core/sqlite_*.cpp)\n")
      endif()
      if(header STREQUAL "sodium.h" AND
         NOT (dir STREQUAL "core" AND name STREQUAL "accounts.cpp"))
        string(APPEND problems
          "  ${rel}: includes sodium.h (only in core/accounts.cpp)\n")
      endif()
      if(header MATCHES "httplib\\.h$" AND NOT dir STREQUAL "server")
        string(APPEND problems
          "  ${rel}: includes httplib.h (only in server/)\n")
      endif()
      if(header MATCHES "^boost/geometry" AND NOT name MATCHES "\\.cpp$")
        string(APPEND problems
          "  ${rel}: includes ${header} in a header (Boost.Geometry only in .cpp files)\n")
      endif()
    endforeach()
  endforeach()
endforeach()

# GEOS and libpq are for the benchmarks only: bench/*.cpp may include them,
# nothing else may. bench/ sits at the tools level (it may not include tools/).
foreach(dir IN LISTS levels ITEMS bench)
  file(GLOB_RECURSE files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cpp")
  foreach(path IN LISTS files)
    file(RELATIVE_PATH rel "${ROOT}" "${path}")
    file(STRINGS "${path}" includes REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS includes)
      if(NOT line MATCHES "#[ \t]*include[ \t]*[\"<]([^\">]+)[\">]")
        continue()
      endif()
      set(header "${CMAKE_MATCH_1}")
      if(header MATCHES "^(geos_c\\.h|geos/|libpq-fe\\.h|postgres)" AND
         NOT (dir STREQUAL "bench" AND rel MATCHES "\\.cpp$"))
        string(APPEND problems
          "  ${rel}: includes ${header} (GEOS and libpq only in bench/*.cpp)\n")
      endif()
      if(dir STREQUAL "bench" AND header MATCHES "^tools/")
        string(APPEND problems
          "  ${rel}: includes ${header} (bench may not include tools)\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "Layering violations:\n${problems}")
endif()
message(STATUS "layering: ok")
