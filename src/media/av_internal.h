/*
 * av_internal.h — FFmpeg helpers shared inside src/media/ (not a public API).
 *
 * Every media file that opens FFmpeg goes through media_av_open so the error
 * sentences are the same everywhere and FFmpeg's own logging stays silent
 * (library code never prints).
 */
#ifndef DOSSIER_MEDIA_AV_INTERNAL_H
#define DOSSIER_MEDIA_AV_INTERNAL_H

#include <stddef.h>

struct err;
struct AVFormatContext;

/* Silences FFmpeg's logging for the whole process (idempotent, thread safe). */
void media_av_quiet(void);

/*
 * Opens path with libavformat and reads its stream info.
 * DOSSIER_ENOTFOUND / DOSSIER_EPERM / DOSSIER_EINVAL (a directory) from stat;
 * DOSSIER_EFORMAT when FFmpeg cannot read it. Caller frees *out with
 * avformat_close_input.
 */
int media_av_open(const char *path, struct AVFormatContext **out, struct err *err);

/* FFmpeg's text for an AVERROR code, written into buf (returns buf). */
const char *media_av_strerror(int averr, char *buf, size_t n);

#endif
