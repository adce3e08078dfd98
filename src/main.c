/* dossier — command dispatch only; each subcommand lives in src/cli/. */
#include "backends/ocr.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	/* tesseract needs OMP_THREAD_LIMIT before the process starts: may re-exec */
	ocr_prepare_process(argc, argv);
	return cli_main(argc, argv);
}
