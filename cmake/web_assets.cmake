# The web pages (server/web/**) and the Leaflet files they need
# (node_modules/leaflet*/dist) become byte arrays in a generated .cpp, so
# `wangge serve` needs no asset directory. Included by server/CMakeLists.txt;
# defines WANGGE_WEB_ASSETS_CPP. The generator is cmake/embed_web.cmake.

set(_node_modules ${PROJECT_SOURCE_DIR}/node_modules)
if(NOT EXISTS ${_node_modules}/leaflet/dist/leaflet.js OR
   NOT EXISTS ${_node_modules}/leaflet.markercluster/dist/leaflet.markercluster.js)
  message(FATAL_ERROR
    "wangge: node_modules/leaflet and node_modules/leaflet.markercluster are "
    "missing; the web pages embed them. Run `bash tools/install-deps.sh` "
    "(it runs `npm ci` in ${PROJECT_SOURCE_DIR}) and configure again.")
endif()

# URL prefix -> folder; every file below the folder is served under the prefix.
set(WANGGE_WEB_ROOTS
  "/=${PROJECT_SOURCE_DIR}/server/web"
  "/vendor/leaflet/=${_node_modules}/leaflet/dist"
  "/vendor/leaflet.markercluster/=${_node_modules}/leaflet.markercluster/dist")

set(_web_files)
foreach(root IN LISTS WANGGE_WEB_ROOTS)
  string(REGEX REPLACE "^[^=]*=" "" dir "${root}")
  file(GLOB_RECURSE found CONFIGURE_DEPENDS "${dir}/*")
  list(APPEND _web_files ${found})
endforeach()

set(WANGGE_WEB_ASSETS_CPP ${CMAKE_CURRENT_BINARY_DIR}/web_assets.cpp)
string(REPLACE ";" "|" _roots_arg "${WANGGE_WEB_ROOTS}")
add_custom_command(
  OUTPUT ${WANGGE_WEB_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} "-DROOTS=${_roots_arg}"
          -DOUT=${WANGGE_WEB_ASSETS_CPP}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  DEPENDS ${_web_files} ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  COMMENT "Embedding the web pages and Leaflet into web_assets.cpp"
  VERBATIM)
