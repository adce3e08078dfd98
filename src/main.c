/* dossier — command dispatch only; each subcommand lives in src/cli/. */
#include "backends/ocr.h"
#include "cli/cli.h"
#include "cli/search_modes.h"
#include "media/office.h"

int main(int argc, char **argv)
{
	/* tesseract needs OMP_THREAD_LIMIT before the process starts: may re-exec */
	ocr_prepare_process(argc, argv);
	search_engine_install();
	office_process_init(); /* libxml2, before any lane starts */
	return cli_main(argc, argv);
}
