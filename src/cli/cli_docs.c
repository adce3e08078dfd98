/*
 * cli_docs.c — the man page and the shell completions, generated from the
 * command table and each command's --help text, so they can never list a
 * command or an option the program does not have. The build runs
 * `dossier --man` and `dossier --completion bash|zsh` (hidden options) and
 * installs what they print.
 *
 * A help text is read as: a first line "usage: dossier CMD ...", paragraphs,
 * and option lines "  -h, --help    words" (two spaces, a dash; the words
 * start after two or more spaces, continuation lines are indented further).
 */
#include "cli/cli.h"
#include "core/config.h"
#include "dossier_config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DOC_MAX_OPTS 48

struct opt_doc {
	char names[64];   /* "-h, --help" */
	char name[40];    /* the long name without dashes: "help" */
	char arg[64];     /* "dev|prod", "FILE|-", "" = takes none */
	char help[512];   /* the words, continuation lines joined */
};

/* 1 if s (up to a space) is an option's argument: upper case, or choices a|b. */
static int is_arg_token(const char *s, size_t n)
{
	int upper = 0, bar = 0;
	for (size_t i = 0; i < n; i++) {
		if (isupper((unsigned char)s[i]))
			upper = 1;
		if (s[i] == '|')
			bar = 1;
	}
	return upper || bar;
}

/* Parses one option line ("  --profile dev|prod    model profile"); 1 if it is one. */
static int parse_opt_line(const char *line, size_t len, struct opt_doc *o)
{
	size_t i = 0;
	while (i < len && line[i] == ' ')
		i++;
	if (i < 2 || i > 4 || i >= len || line[i] != '-')
		return 0;
	memset(o, 0, sizeof *o);
	/* the head runs to the first run of two spaces */
	size_t h = i;
	while (h < len && !(line[h] == ' ' && h + 1 < len && line[h + 1] == ' '))
		h++;
	size_t head_len = h - i;
	/* names, then an argument */
	size_t p = i, names_end = i;
	while (p < h) {
		if (line[p] == '-') {
			size_t q = p;
			while (q < h && line[q] != ',' && line[q] != ' ')
				q++;
			if (line[p + 1] == '-' && !o->name[0])
				snprintf(o->name, sizeof o->name, "%.*s", (int)(q - p - 2), line + p + 2);
			names_end = q;
			p = q;
			while (p < h && (line[p] == ',' || line[p] == ' '))
				p++;
			continue;
		}
		size_t q = p;
		while (q < h && line[q] != ' ')
			q++;
		if (is_arg_token(line + p, q - p))
			snprintf(o->arg, sizeof o->arg, "%.*s", (int)(h - p), line + p);
		break;
	}
	if (!o->name[0])
		return 0;
	snprintf(o->names, sizeof o->names, "%.*s", (int)(names_end - i), line + i);
	(void)head_len;
	while (h < len && line[h] == ' ')
		h++;
	snprintf(o->help, sizeof o->help, "%.*s", (int)(len - h), line + h);
	return 1;
}

/* The options of a help text, in order; returns how many (at most max). */
static size_t parse_opts(const char *usage, struct opt_doc *out, size_t max)
{
	size_t n = 0;
	const char *line = usage;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		struct opt_doc o;
		if (parse_opt_line(line, len, &o)) {
			if (n < max)
				out[n++] = o;
		} else if (n && len > 8 && !strncmp(line, "        ", 8)) {
			/* a continuation of the last option's words */
			size_t k = 0;
			while (k < len && line[k] == ' ')
				k++;
			size_t hl = strlen(out[n - 1].help);
			snprintf(out[n - 1].help + hl, sizeof out[n - 1].help - hl, " %.*s", (int)(len - k), line + k);
		}
		line = nl ? nl + 1 : line + len;
	}
	return n;
}

/* ------------------------------------------------------------ man page */

/* Text for roff: backslashes escaped, a leading dot or quote made literal. */
static void roff_text(FILE *out, const char *s, size_t n, int minus)
{
	if (n && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			fputs("\\e", out);
		else if (s[i] == '-' && minus)
			fputs("\\-", out);
		else
			fputc(s[i], out);
	}
}

static void man_command(FILE *out, const struct cli_cmd *c)
{
	fprintf(out, ".SS %s\n", c->name);
	const char *line = c->usage;
	int in_example = 0;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		struct opt_doc o;
		if (!strncmp(line, "usage: ", 7)) {
			fputs(".B ", out);
			roff_text(out, line + 7, len - 7, 1);
			fputs("\n.PP\n", out);
		} else if (parse_opt_line(line, len, &o)) {
			fputs(".TP\n.B ", out);
			roff_text(out, o.names, strlen(o.names), 1);
			if (o.arg[0]) {
				fputs(" \"\\fI", out);
				roff_text(out, o.arg, strlen(o.arg), 0);
				fputs("\\fR\"", out);
			}
			fputc('\n', out);
			roff_text(out, o.help, strlen(o.help), 0);
			fputc('\n', out);
		} else if (!len) {
			if (in_example)
				fputs(".fi\n", out);
			in_example = 0;
			fputs(".PP\n", out);
		} else {
			size_t k = 0;
			while (k < len && line[k] == ' ')
				k++;
			if (k >= 2 && k < 8 && !in_example) {
				fputs(".nf\n", out); /* an indented example */
				in_example = 1;
			}
			roff_text(out, line + (k >= 8 ? k : in_example ? 0 : k), len - (k >= 8 ? k : in_example ? 0 : k),
			          0);
			fputc('\n', out);
		}
		line = nl ? nl + 1 : line + len;
	}
	if (in_example)
		fputs(".fi\n", out);
}

int cli_docs_man(FILE *out)
{
	const struct cli_cmd *const *cmds = cli_commands();
	fprintf(out, ".\\\" generated by 'dossier --man' from the commands' help texts; do not edit\n");
	fprintf(out, ".TH DOSSIER 1 \"\" \"dossier %s\" \"User Commands\"\n", DOSSIER_VERSION);
	fputs(".SH NAME\ndossier \\- turns a folder of mixed files into searchable, structured dossiers\n", out);
	fputs(".SH SYNOPSIS\n.B dossier\n.I command\n[\\fIoptions\\fR] [\\fIargs\\fR]\n.br\n"
	      ".B dossier help\n.I command\n.br\n.B dossier \\-\\-version\n", out);
	fputs(".SH DESCRIPTION\n"
	      "dossier reads documents, images, audio and video and turns each into a dossier: its text, "
	      "a title, a summary, key points, tags and entities, with a transcript and frames for media. "
	      "The dossiers are kept in a database, searchable from the command line, an HTTP API and a web page.\n"
	      ".SH COMMANDS\n", out);
	for (size_t i = 0; cmds[i]; i++)
		fprintf(out, ".TP\n.B %s\n%s\n", cmds[i]->name, cmds[i]->summary);
	for (size_t i = 0; cmds[i]; i++)
		man_command(out, cmds[i]);
	fputs(".SH ENVIRONMENT\n", out);
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		if (!k->env)
			continue;
		fprintf(out, ".TP\n.B %s\n", k->env);
		roff_text(out, k->help, strlen(k->help), 0);
		fprintf(out, " (config key \\fB%s\\fR)\n", k->name);
	}
	fputs(".TP\n.B DEV_MODE\nset to 1 for the dev profile (smaller models)\n"
	      ".TP\n.B XDG_CONFIG_HOME\nwhere the config file is looked for (default ~/.config)\n"
	      ".TP\n.B XDG_DATA_HOME\nwhere the database and the data directory are (default ~/.local/share)\n"
	      ".TP\n.B NO_COLOR\nset to turn colour off\n", out);
	fputs(".SH FILES\n"
	      ".TP\n.I $XDG_CONFIG_HOME/dossier/config\n"
	      "the config file: \\fIkey = value\\fR lines; \\fBdossier config\\fR shows every key, its value and "
	      "where it came from\n"
	      ".TP\n.I $XDG_DATA_HOME/dossier/dossier.db\nthe database (\\fB\\-\\-db\\fR, \\fBDOSSIER_DB\\fR)\n"
	      ".TP\n.I $XDG_DATA_HOME/dossier/\n"
	      "the data directory: frames of videos, uploads and OCR checkpoints (\\fBdata_dir\\fR, "
	      "\\fBDOSSIER_DATA_DIR\\fR; the database's own directory when the database is given explicitly)\n",
	      out);
	fputs(".SH EXIT STATUS\n0 success; 1 some documents failed; 2 bad usage; 3 an environment problem "
	      "(the database, an unreachable engine)\n", out);
	return 0;
}

/* ---------------------------------------------------------- completion */

/* The choices of an argument such as "dev|prod" as "dev prod"; "" when it names no fixed words. */
static void arg_choices(const char *arg, char *out, size_t n)
{
	out[0] = '\0';
	if (!strchr(arg, '|'))
		return;
	size_t o = 0;
	for (const char *p = arg; *p && o + 1 < n; p++) {
		if (*p == ' ')
			break;
		if (*p == '|')
			out[o++] = ' ';
		else if (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '_')
			out[o++] = *p;
		else
			return (void)(out[0] = '\0'); /* FILE|- is a file, not choices */
	}
	out[o] = '\0';
}

/* 1 if the argument names a file or folder. */
static int arg_is_path(const char *arg)
{
	return strstr(arg, "FILE") || strstr(arg, "PATH") || strstr(arg, "DIR");
}

static void completion_bash(FILE *out)
{
	const struct cli_cmd *const *cmds = cli_commands();
	struct opt_doc opts[DOC_MAX_OPTS];
	fputs("# bash completion for dossier; generated by 'dossier --completion bash' from the command table\n"
	      "_dossier() {\n"
	      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "  local commands=\"", out);
	for (size_t i = 0; cmds[i]; i++)
		fprintf(out, "%s ", cmds[i]->name);
	fputs("help\"\n"
	      "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	      "    COMPREPLY=($(compgen -W \"$commands --help --version\" -- \"$cur\"))\n"
	      "    return\n"
	      "  fi\n"
	      "  local opts=\"\"\n"
	      "  case ${COMP_WORDS[1]} in\n"
	      "  help) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\")); return ;;\n",
	      out);
	for (size_t i = 0; cmds[i]; i++) {
		size_t n = parse_opts(cmds[i]->usage, opts, DOC_MAX_OPTS);
		fprintf(out, "  %s)\n    opts=\"", cmds[i]->name);
		for (size_t j = 0; j < n; j++)
			fprintf(out, "%s--%s", j ? " " : "", opts[j].name);
		fputs("\"\n    case $prev in\n", out);
		for (size_t j = 0; j < n; j++) {
			char ch[128];
			if (!opts[j].arg[0])
				continue;
			arg_choices(opts[j].arg, ch, sizeof ch);
			if (ch[0])
				fprintf(out, "    --%s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n", opts[j].name, ch);
			else if (arg_is_path(opts[j].arg))
				fprintf(out, "    --%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", opts[j].name);
			else
				fprintf(out, "    --%s) return ;;\n", opts[j].name);
		}
		fputs("    esac ;;\n", out);
	}
	fputs("  esac\n"
	      "  if [[ $cur == -* ]]; then\n"
	      "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "  else\n"
	      "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "  fi\n"
	      "}\n"
	      "complete -o filenames -F _dossier dossier\n", out);
}

/* Words for a zsh spec: no brackets, colons, quotes or backslashes. */
static void zsh_words(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		char c = s[i];
		fputc(strchr("[]:'\\`$", c) ? ' ' : c, out);
	}
}

static void completion_zsh(FILE *out)
{
	const struct cli_cmd *const *cmds = cli_commands();
	struct opt_doc opts[DOC_MAX_OPTS];
	fputs("#compdef dossier\n"
	      "# zsh completion for dossier; generated by 'dossier --completion zsh' from the command table\n"
	      "_dossier() {\n"
	      "  local -a commands\n"
	      "  commands=(\n", out);
	for (size_t i = 0; cmds[i]; i++) {
		fprintf(out, "    '%s:", cmds[i]->name);
		zsh_words(out, cmds[i]->summary, 200);
		fputs("'\n", out);
	}
	fputs("    'help:show the help of a command'\n"
	      "  )\n"
	      "  if (( CURRENT == 2 )); then\n"
	      "    _describe -t commands 'dossier command' commands\n"
	      "    _arguments '--help[show the help]' '--version[print the version]'\n"
	      "    return\n"
	      "  fi\n"
	      "  local cmd=$words[2]\n"
	      "  shift words; (( CURRENT-- ))\n"
	      "  case $cmd in\n"
	      "  help) _describe -t commands 'dossier command' commands ;;\n", out);
	for (size_t i = 0; cmds[i]; i++) {
		size_t n = parse_opts(cmds[i]->usage, opts, DOC_MAX_OPTS);
		fprintf(out, "  %s)\n    _arguments -s \\\n", cmds[i]->name);
		for (size_t j = 0; j < n; j++) {
			fprintf(out, "      '--%s[", opts[j].name);
			zsh_words(out, opts[j].help, 80);
			fputc(']', out);
			if (opts[j].arg[0]) {
				char ch[128];
				arg_choices(opts[j].arg, ch, sizeof ch);
				fputc(':', out);
				zsh_words(out, opts[j].arg, 40);
				if (ch[0])
					fprintf(out, ":(%s)", ch);
				else if (arg_is_path(opts[j].arg))
					fputs(":_files", out);
				else
					fputs(": ", out);
			}
			fputs("' \\\n", out);
		}
		fputs("      '*:file:_files' ;;\n", out);
	}
	fputs("  esac\n"
	      "}\n"
	      "_dossier \"$@\"\n", out);
}

int cli_docs_completion(const char *shell, FILE *out)
{
	if (!strcmp(shell, "bash"))
		completion_bash(out);
	else if (!strcmp(shell, "zsh"))
		completion_zsh(out);
	else {
		fprintf(stderr, "dossier: --completion takes bash or zsh, not '%s'\n", shell);
		return EXIT_USAGE;
	}
	return 0;
}
