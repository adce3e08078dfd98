/* assets.h — the web page's files, embedded into the binary at build time
 * (cmake/embed.cmake). The table ends with a NULL path. */
#ifndef DOSSIER_SERVER_ASSETS_H
#define DOSSIER_SERVER_ASSETS_H
#include <stddef.h>
struct web_asset {
	const char *path;            /* "/index.html" */
	const unsigned char *data;   /* static bytes */
	size_t len;                  /* bytes */
};
extern const struct web_asset web_assets[];
#endif
