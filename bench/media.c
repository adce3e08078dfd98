/*
 * bench/media.c — frame sampling and audio extraction against the ffmpeg CLI.
 *
 *   bench_media [DIR]      (DIR defaults to $TMPDIR or /tmp; the 120 s 1080p
 *                           test video is generated there once if missing)
 *
 * Each measurement runs in its own child process so its peak RSS (wait4
 * ru_maxrss) is its own. References:
 *   frames: ffmpeg -skip_frame nokey -i in.mp4
 *             -vf "select='isnan(prev_selected_t)+gte(t-prev_selected_t\,5)',scale=...:-2"
 *             -vsync vfr -q:v 3 out%03d.jpg
 *           i.e. keyframes only, at most one per 5 s, scaled to dossier's 1344 long side.
 *           And the common user script, which decodes every frame:
 *           ffmpeg -i in.mp4 -vf fps=1/5,scale=1344:-2 -q:v 3 out%03d.jpg
 *   audio:  ffmpeg -i in.mp4 -vn -ac 1 -ar 16000 -f s16le out.raw
 * Prints a table (wall and CPU seconds; the machine may be shared, so CPU is
 * the steadier figure); no pass/fail.
 */
#include "core/err.h"
#include "media/audio.h"
#include "media/frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct run {
	double secs;
	double cpu;   /* user + system seconds of the child */
	long rss_kb;
	int ok;
};

/* Runs fn(arg) in a child; returns its wall time and peak RSS. */
static struct run in_child(int (*fn)(const char *), const char *arg)
{
	struct run r = {0};
	struct rusage ru;
	int status = 0;
	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg) == 0 ? 0 : 1);
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return r;
	r.secs = now_s() - t0;
	r.rss_kb = ru.ru_maxrss;
	r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return r;
}

static int run_shell(const char *cmd)
{
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	return 127;
}

/* ---- ours ---- */

static int frames_seen;

static int on_frame(const struct frame *f, void *user)
{
	(void)f;
	(void)user;
	frames_seen++;
	return 0;
}

static int ours_frames(const char *path)
{
	struct err e = {0};
	int rc = frames_sample(path, NULL, on_frame, NULL, &e);
	if (rc)
		fprintf(stderr, "frames_sample: %s\n", e.msg);
	else
		fprintf(stderr, "  (dossier delivered %d frames)\n", frames_seen);
	return rc;
}

static int ours_frames_nodedup(const char *path)
{
	struct err e = {0};
	struct frame_params p;
	frame_params_default(&p);
	p.dedup_threshold = 0;   /* like the reference: keep near-identical frames */
	int rc = frames_sample(path, &p, on_frame, NULL, &e);
	if (rc)
		fprintf(stderr, "frames_sample: %s\n", e.msg);
	else
		fprintf(stderr, "  (dossier, no dedup, delivered %d frames)\n", frames_seen);
	return rc;
}

static int ours_audio(const char *path)
{
	struct err e = {0};
	audio_reader *r;
	int16_t pcm[4096];
	size_t got, total = 0;
	if (audio_open(path, 16000, &r, &e) != 0) {
		fprintf(stderr, "audio_open: %s\n", e.msg);
		return 1;
	}
	while (audio_read(r, pcm, 4096, &got, &e) == 0 && got > 0)
		total += got;
	audio_close(r);
	fprintf(stderr, "  (dossier decoded %zu samples)\n", total);
	return total > 0 ? 0 : 1;
}

static void row(const char *what, struct run ours, struct run ref, const char *ref_name)
{
	printf("%-22s %7.3f s %7.3f s %7.1f MB   %-30s %7.3f s %7.3f s %7.1f MB   %6.2f %6.2f\n", what, ours.secs,
	       ours.cpu, ours.rss_kb / 1024.0, ref_name, ref.secs, ref.cpu, ref.rss_kb / 1024.0,
	       ref.secs > 0 ? ours.secs / ref.secs : 0.0, ref.cpu > 0 ? ours.cpu / ref.cpu : 0.0);
	if (!ours.ok || !ref.ok)
		printf("  (a run failed: dossier %s, ffmpeg %s)\n", ours.ok ? "ok" : "FAILED", ref.ok ? "ok" : "FAILED");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: bench_media [DIR]\n"
		       "  frame sampling and audio extraction against the ffmpeg command line, on a 120 s\n"
		       "  1080p test video generated in DIR (default $TMPDIR or /tmp) once if missing\n");
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "bench_media: unknown option %s (try --help)\n", argv[1]);
		return 2;
	}
	const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR");
	char in[1024], outdir[1100], cmd[4096];
	struct stat st;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(in, sizeof in, "%s/bench_media_120s_1080p.mp4", dir);
	snprintf(outdir, sizeof outdir, "%s/bench_media_out", dir);
	if (stat(in, &st) != 0) {
		fprintf(stderr, "generating %s (120 s, 1920x1080 30 fps H.264 + 48 kHz AAC)...\n", in);
		snprintf(cmd, sizeof cmd,
		         "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=120 "
		         "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=120 -ac 2 "
		         "-c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac '%s'", in);
		if (system(cmd) != 0) {
			fprintf(stderr, "bench_media: could not generate the test video (is ffmpeg installed?)\n");
			return 1;
		}
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", outdir, outdir);
	if (system(cmd) != 0)
		return 1;

	printf("input: %s\n", in);
	printf("%-22s %9s %9s %10s   %-30s %9s %9s %10s   %6s %6s\n", "task", "wall", "CPU", "peak RSS", "ffmpeg CLI",
	       "wall", "CPU", "peak RSS", "wall x", "CPU x");

	struct run a = in_child(ours_frames, in);
	snprintf(cmd, sizeof cmd,
	         "ffmpeg -nostdin -v error -y -skip_frame nokey -i '%s' "
	         "-vf \"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,5)',scale=1344:-2\" "
	         "-vsync vfr -q:v 3 '%s/out%%03d.jpg'", in, outdir);
	struct run b = in_child(run_shell, cmd);
	row("frames (defaults)", a, b, "-skip_frame nokey + select");
	a = in_child(ours_frames_nodedup, in);
	row("frames (no dedup)", a, b, "(same run)");
	snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i '%s' "
	         "-vf fps=1/5,scale=1344:-2 -q:v 3 '%s/fps%%03d.jpg'", in, outdir);
	struct run c = in_child(run_shell, cmd);
	row("frames (defaults)", in_child(ours_frames, in), c, "-vf fps=1/5 (every frame)");
	snprintf(cmd, sizeof cmd, "ls '%s'/fps*.jpg 2>/dev/null | wc -l", outdir);
	FILE *ls = popen(cmd, "r");
	int n_fps = 0;
	if (!ls || fscanf(ls, "%d", &n_fps) != 1)
		n_fps = -1;
	if (ls)
		pclose(ls);
	printf("  (ffmpeg -vf fps=1/5 wrote %d frames)\n", n_fps);
	fflush(stdout);

	snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -i '%s' -vn -ac 1 -ar 16000 -f s16le '%s/out.raw'", in,
	         outdir);
	a = in_child(ours_audio, in);
	b = in_child(run_shell, cmd);
	row("audio -> 16 kHz mono", a, b, "-ac 1 -ar 16000 -f s16le");

	snprintf(cmd, sizeof cmd, "ls '%s'/out*.jpg 2>/dev/null | wc -l", outdir);
	printf("x = dossier / ffmpeg CLI (below 1 is faster). The frames runs write only their own output;"
	       " the select reference wrote: ");
	fflush(stdout);
	if (system(cmd) != 0)
		printf("?\n");
	return 0;
}
