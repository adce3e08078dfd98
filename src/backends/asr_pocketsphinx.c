/*
 * asr_pocketsphinx.c — the embedded speech engine: pocketsphinx 5prealpha
 * (old cmd_ln/ps_* API) with Debian's en-us acoustic model, language model and
 * dictionary.
 *
 * Audio arrives as 16 kHz mono S16 blocks from audio_open. A second, cheap
 * front end (the same one ps_get_in_speech reads, fed with the same samples)
 * finds where speech starts and stops; each stretch of speech is buffered and
 * decoded as one whole utterance (full_utt: batch cepstral mean normalisation,
 * measurably more accurate than streaming — docs/speech.md). Segment times come
 * from sample counts plus the decoder's word frames.
 */
#include "backends/asr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>

#include "core/buf.h"
#include "core/err.h"
#include "dossier_config.h"
#include "media/audio.h"

#define RATE            16000
#define FRAME_SAMPLES   160                 /* 100 frames per second */
#define CHUNK_SAMPLES   480                 /* VAD granularity: 30 ms */
#define READ_SAMPLES    4800                /* one audio_read: 0.3 s */
#define PREROLL_SAMPLES (RATE / 2)          /* audio kept before the VAD fires */
#define SEGMENT_MAX_S   30                  /* a longer stretch of speech is cut here */
#define CEP_FRAMES      256                 /* front-end output buffer (frames) */

struct sphinx {
	ps_decoder_t *ps;
	cmd_ln_t *config;
	fe_t *vad;             /* front end used only for its speech/silence state */
	mfcc_t **cep;          /* CEP_FRAMES x ncep scratch for the VAD front end */
	uint64_t resident;     /* bytes the model added to RSS at load */
};

/* ---- model files ---------------------------------------------------------- */

static uint64_t file_bytes(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t dir_bytes(const char *dir)
{
	static const char *const parts[] = {"mdef", "means", "variances", "mixture_weights",
	                                    "transition_matrices", "sendump", "feat.params",
	                                    "noisedict", "feature_transform"};
	uint64_t sum = 0;
	char p[4200];
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, parts[i]);
		sum += file_bytes(p);
	}
	return sum;
}

/* The model files' total size (loading costs about 2.5x that in RSS). */
uint64_t asr_pocketsphinx_model_bytes(const char *model_dir);
uint64_t asr_pocketsphinx_model_bytes(const char *model_dir)
{
	const char *d = model_dir && *model_dir ? model_dir : DOSSIER_POCKETSPHINX_MODEL_DIR;
	char p[4200];
	uint64_t sum = 0;
	snprintf(p, sizeof p, "%s/en-us", d);
	sum += dir_bytes(p);
	snprintf(p, sizeof p, "%s/en-us.lm.bin", d);
	sum += file_bytes(p);
	snprintf(p, sizeof p, "%s/cmudict-en-us.dict", d);
	sum += file_bytes(p);
	return sum;
}

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- open / close --------------------------------------------------------- */

static void sphinx_close(void *ctx)
{
	struct sphinx *s = ctx;
	if (!s)
		return;
	if (s->cep)
		ckd_free_2d(s->cep);
	if (s->vad)
		fe_free(s->vad);
	if (s->ps)
		ps_free(s->ps);
	if (s->config)
		cmd_ln_free_r(s->config);
	free(s);
}

static int sphinx_open(const struct config *cfg, const char *where, void **ctx, struct err *err)
{
	(void)cfg;
	*ctx = NULL;
	const char *dir = where && *where ? where : DOSSIER_POCKETSPHINX_MODEL_DIR;
	char hmm[4200], lm[4200], dict[4200], mdef[4300];
	snprintf(hmm, sizeof hmm, "%s/en-us", dir);
	snprintf(lm, sizeof lm, "%s/en-us.lm.bin", dir);
	snprintf(dict, sizeof dict, "%s/cmudict-en-us.dict", dir);
	snprintf(mdef, sizeof mdef, "%s/mdef", hmm);
	const char *missing = access(mdef, R_OK) != 0 ? mdef : access(lm, R_OK) != 0 ? lm
	                      : access(dict, R_OK) != 0 ? dict : NULL;
	if (missing)
		return err_set(err, DOSSIER_EMODEL,
		               "the speech model is not installed (%s is missing): install it with "
		               "`apt-get install pocketsphinx-en-us`, or use a Whisper server with --transcriber URL",
		               missing);

	/* sphinxbase logs to stderr by default; library code never prints. */
	err_set_logfp(NULL);
	struct sphinx *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, DOSSIER_ENOMEM, "out of memory loading the speech model");
	uint64_t before = rss_bytes();
	s->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict,
	                        "-logfn", "/dev/null",
	                        /* Our VAD already cut the segment; a second silence
	                         * removal inside it would shift the word times. */
	                        "-remove_silence", "no", NULL);
	if (!s->config)
		goto fail;
	s->ps = ps_init(s->config);
	if (!s->ps)
		goto fail;
	/* ps_init added the acoustic model's feat.params to the config, so this
	 * front end, with silence removal on, computes the VAD state
	 * ps_get_in_speech would report (fe reads the config once, at init). */
	cmd_ln_set_boolean_r(ps_get_config(s->ps), "-remove_silence", TRUE);
	s->vad = fe_init_auto_r(ps_get_config(s->ps));
	if (!s->vad)
		goto fail;
	s->cep = (mfcc_t **)ckd_calloc_2d(CEP_FRAMES, fe_get_output_size(s->vad), sizeof(mfcc_t));
	uint64_t after = rss_bytes();
	s->resident = after > before ? after - before : 0;
	*ctx = s;
	return 0;
fail:
	sphinx_close(s);
	return err_set(err, DOSSIER_EMODEL,
	               "pocketsphinx could not load the speech model in %s: reinstall "
	               "pocketsphinx-en-us (apt-get install --reinstall pocketsphinx-en-us)", dir);
}

static uint64_t sphinx_memory_bytes(void *ctx)
{
	struct sphinx *s = ctx;
	return s ? s->resident : 0;
}

/* ---- decoding ------------------------------------------------------------- */

struct run {
	struct sphinx *s;
	asr_segment_cb cb;
	void *user;
	size_t text_bytes;      /* transcript so far, for CAP_TRANSCRIPT */
	int16_t *seg;           /* the stretch of speech being collected */
	size_t seg_len, seg_cap;
	uint64_t seg_start;     /* sample index of seg[0] in the media */
	int16_t ring[PREROLL_SAMPLES];
	size_t ring_pos;        /* next write position */
	uint64_t fed;           /* samples fed so far */
};

static int is_filler(const char *w)
{
	return w[0] == '<' || w[0] == '[' || w[0] == '+';
}

/* Decodes run->seg as one utterance and reports it. */
static int decode_segment(struct run *r, struct err *err)
{
	ps_decoder_t *ps = r->s->ps;
	if (r->seg_len < FRAME_SAMPLES * 10)  /* < 0.1 s: a click, not speech */
		goto done;
	if (ps_start_utt(ps) < 0 || ps_process_raw(ps, r->seg, r->seg_len, FALSE, TRUE) < 0 ||
	    ps_end_utt(ps) < 0) {
		r->seg_len = 0;
		return err_set(err, DOSSIER_EFORMAT, "pocketsphinx failed to decode the audio at %.1f s",
		               (double)r->seg_start / RATE);
	}
	int32 score;
	const char *hyp = ps_get_hyp(ps, &score);
	if (!hyp || !*hyp)
		goto done;
	int first = -1, last = -1;
	double post_sum = 0;
	int words = 0;
	for (ps_seg_t *it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
		int sf, ef;
		if (is_filler(ps_seg_word(it)))
			continue;
		int32 ascr, lscr, lback;
		post_sum += logmath_exp(ps_get_logmath(ps), ps_seg_prob(it, &ascr, &lscr, &lback));
		words++;
		ps_seg_frames(it, &sf, &ef);
		if (first < 0 || sf < first)
			first = sf;
		if (ef > last)
			last = ef;
	}
	if (first < 0)
		first = 0, last = (int)(r->seg_len / FRAME_SAMPLES) - 1;
	/* The utterance posterior (ps_get_prob) is ~1e-6 for any long utterance;
	 * the mean word posterior from the lattice is a usable, if loose, score. */
	double conf = words ? post_sum / words : -1;
	struct asr_segment seg = {
		.start_s = (double)(r->seg_start + (uint64_t)first * FRAME_SAMPLES) / RATE,
		.end_s = (double)(r->seg_start + (uint64_t)(last + 1) * FRAME_SAMPLES) / RATE,
		.text = hyp,
		.confidence = conf >= 0 && conf <= 1 ? conf : -1,
	};
	r->text_bytes += strlen(hyp) + 1;
	if (r->text_bytes > CAP_TRANSCRIPT) {
		r->seg_len = 0;
		return err_set(err, DOSSIER_ETOOBIG, "the transcript passed the %u-byte cap at %.0f s",
		               (unsigned)CAP_TRANSCRIPT, seg.start_s);
	}
	if (r->cb(&seg, r->user) != 0) {
		r->seg_len = 0;
		return err_set(err, DOSSIER_ECANCELLED, "transcription stopped by the caller");
	}
done:
	r->seg_len = 0;
	return 0;
}

static int seg_append(struct run *r, const int16_t *pcm, size_t n, struct err *err)
{
	if (r->seg_len + n > r->seg_cap) {
		size_t cap = r->seg_cap ? r->seg_cap * 2 : RATE * 4;
		while (cap < r->seg_len + n)
			cap *= 2;
		int16_t *p = realloc(r->seg, cap * sizeof *p);
		if (!p)
			return err_set(err, DOSSIER_ENOMEM, "out of memory buffering speech");
		r->seg = p;
		r->seg_cap = cap;
	}
	memcpy(r->seg + r->seg_len, pcm, n * sizeof *pcm);
	r->seg_len += n;
	return 0;
}

static void ring_push(struct run *r, const int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		r->ring[r->ring_pos] = pcm[i];
		r->ring_pos = (r->ring_pos + 1) % PREROLL_SAMPLES;
	}
}

/* Starts a segment with the pre-roll: the VAD fires some frames after speech began. */
static int seg_start_with_preroll(struct run *r, struct err *err)
{
	size_t keep = r->fed < PREROLL_SAMPLES ? (size_t)r->fed : PREROLL_SAMPLES;
	r->seg_len = 0;
	r->seg_start = r->fed - keep;
	size_t from = (r->ring_pos + PREROLL_SAMPLES - keep) % PREROLL_SAMPLES;
	size_t first = keep < PREROLL_SAMPLES - from ? keep : PREROLL_SAMPLES - from;
	int rc = seg_append(r, r->ring + from, first, err);
	if (rc == 0 && keep > first)
		rc = seg_append(r, r->ring, keep - first, err);
	return rc;
}

/* Feeds one chunk to the VAD front end; returns its speech state after it. */
static int vad_feed(struct sphinx *s, const int16_t *pcm, size_t n)
{
	const int16 *p = pcm;
	size_t left = n;
	while (left > 0) {
		int32 nfr = CEP_FRAMES;
		size_t before = left;
		if (fe_process_frames(s->vad, &p, &left, s->cep, &nfr, NULL) < 0)
			break;
		if (left == before && nfr == 0)
			break;
	}
	return fe_get_vad_state(s->vad) != 0;
}

static int sphinx_transcribe(void *ctx, const char *media_path, asr_segment_cb cb, void *user,
                             volatile int *cancel, struct err *err)
{
	struct sphinx *s = ctx;
	audio_reader *ar = NULL;
	int rc = audio_open(media_path, RATE, &ar, err);
	if (rc != 0)
		return rc;
	struct run *r = calloc(1, sizeof *r);
	int16_t *pcm = malloc(READ_SAMPLES * sizeof *pcm);
	if (!r || !pcm) {
		rc = err_set(err, DOSSIER_ENOMEM, "out of memory transcribing %s", media_path);
		goto out;
	}
	r->s = s;
	r->cb = cb;
	r->user = user;
	fe_start_utt(s->vad);
	int in_speech = 0;
	for (;;) {
		if (cancel && *cancel) {
			rc = err_set(err, DOSSIER_ECANCELLED, "transcription of %s cancelled", media_path);
			goto out;
		}
		size_t got = 0;
		struct err read_err = {0};
		int read_rc = audio_read(ar, pcm, READ_SAMPLES, &got, &read_err);
		for (size_t off = 0; off < got; off += CHUNK_SAMPLES) {
			size_t n = got - off < CHUNK_SAMPLES ? got - off : CHUNK_SAMPLES;
			const int16_t *chunk = pcm + off;
			int speech = vad_feed(s, chunk, n);
			if (!in_speech && speech) {
				rc = seg_start_with_preroll(r, err);
				in_speech = 1;
			}
			ring_push(r, chunk, n);
			r->fed += n;
			if (rc == 0 && in_speech)
				rc = seg_append(r, chunk, n, err);
			if (rc == 0 && in_speech && !speech) {
				in_speech = 0;
				rc = decode_segment(r, err);
			} else if (rc == 0 && in_speech && r->seg_len >= (size_t)SEGMENT_MAX_S * RATE) {
				/* No pause for 30 s: decode what we have, go on in a new segment. */
				rc = decode_segment(r, err);
				r->seg_start = r->fed;
			}
			if (rc != 0)
				goto out;
		}
		if (read_rc != 0 || got == 0) {
			/* End of stream, or a decode error: what was heard still counts. */
			if (in_speech)
				rc = decode_segment(r, err);
			if (rc == 0 && read_rc != 0) {
				if (err)
					*err = read_err;
				rc = read_rc;
			}
			goto out;
		}
	}
out:
	{
		int32 nfr = 0;
		fe_end_utt(s->vad, s->cep[0], &nfr);
	}
	if (r)
		free(r->seg);
	free(r);
	free(pcm);
	audio_close(ar);
	return rc;
}

/* Debian's model is US English */
static const char *ps_language(void *ctx)
{
	(void)ctx;
	return "en";
}

const struct asr_backend_ops asr_pocketsphinx_ops = {
	.language = ps_language,
	.name = "pocketsphinx",
	.open = sphinx_open,
	.transcribe = sphinx_transcribe,
	.memory_bytes = sphinx_memory_bytes,
	.close = sphinx_close,
};

int asr_pocketsphinx_new(const char *model_dir, asr_backend **out, struct err *err)
{
	return asr_backend_new(&asr_pocketsphinx_ops,
	                       model_dir && *model_dir ? model_dir : DOSSIER_POCKETSPHINX_MODEL_DIR, NULL, out,
	                       err);
}
