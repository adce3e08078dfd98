/*
 * audio.h — stream-decode any audio track to 16 kHz mono signed 16-bit PCM, in
 * fixed-size blocks. Memory is constant whatever the file's length.
 *
 *   audio_reader *r;
 *   if (audio_open("talk.mp4", 16000, &r, &err) == 0) {
 *       int16_t pcm[4096]; size_t got;
 *       while (audio_read(r, pcm, 4096, &got, &err) == 0 && got > 0)
 *           feed(pcm, got);
 *       audio_close(r);
 *   }
 *
 * Not thread safe for one reader; separate readers are independent.
 */
#ifndef DOSSIER_MEDIA_AUDIO_H
#define DOSSIER_MEDIA_AUDIO_H

#include <stddef.h>
#include <stdint.h>

struct err;
typedef struct audio_reader audio_reader;

/*
 * Opens the best audio stream of path, resampling to rate Hz mono S16.
 * DOSSIER_EFORMAT if FFmpeg cannot open the file; DOSSIER_ENOTFOUND (message
 * "has no audio stream") if it has none. Caller frees with audio_close.
 */
int audio_open(const char *path, int rate, audio_reader **out, struct err *err);
/*
 * Fills up to max samples. *got = 0 at end of stream. A decode error in the
 * middle ends the stream early with DOSSIER_EFORMAT; samples already returned stay valid.
 */
int audio_read(audio_reader *r, int16_t *pcm, size_t max, size_t *got, struct err *err);
/* Duration of the stream in seconds as the container states it (may be wrong). */
double audio_duration_s(const audio_reader *r);
void audio_close(audio_reader *r);  /* NULL is a no-op */

#endif
