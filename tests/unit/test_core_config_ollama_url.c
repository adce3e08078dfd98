/* config_ollama_url follows Ollama's own OLLAMA_HOST rules (envconfig.Host). */
#include "core/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void check(const char *in, const char *want)
{
	char out[256];
	config_ollama_url(in, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_default_when_unset(void **st)
{
	check(NULL, "http://127.0.0.1:11434");
	check("", "http://127.0.0.1:11434");
	check("  ", "http://127.0.0.1:11434");
}

static void test_host_and_port_forms(void **st)
{
	check("example.com", "http://example.com:11434");
	check("example.com:5000", "http://example.com:5000");
	check(":8080", "http://127.0.0.1:8080");
	check("example.com:", "http://example.com:11434");
	check("\"10.0.0.5:11434\"", "http://10.0.0.5:11434");
	check("'localhost'", "http://localhost:11434");
}

static void test_scheme_sets_default_port(void **st)
{
	check("http://example.com", "http://example.com:80");
	check("https://example.com", "https://example.com:443");
	check("https://example.com:8443", "https://example.com:8443");
	check("http://10.0.0.1:11434/", "http://10.0.0.1:11434");
}

static void test_path_prefix_is_kept(void **st)
{
	check("https://proxy.example.com/ollama", "https://proxy.example.com:443/ollama");
	check("http://h:1/a/b/", "http://h:1/a/b");
}

static void test_ipv6(void **st)
{
	check("[::1]:11434", "http://[::1]:11434");
	check("[::1]", "http://[::1]:11434");
	check("::1", "http://[::1]:11434");
	check("http://[fe80::1]:99", "http://[fe80::1]:99");
}

static void test_listen_all_becomes_loopback(void **st)
{
	check("0.0.0.0", "http://127.0.0.1:11434");
	check("0.0.0.0:9999", "http://127.0.0.1:9999");
	check("[::]:11434", "http://127.0.0.1:11434");
}

static void test_bad_port_falls_back(void **st)
{
	check("example.com:abc", "http://example.com:11434");
	check("example.com:99999", "http://example.com:11434");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_when_unset),
		cmocka_unit_test(test_host_and_port_forms),
		cmocka_unit_test(test_scheme_sets_default_port),
		cmocka_unit_test(test_path_prefix_is_kept),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_listen_all_becomes_loopback),
		cmocka_unit_test(test_bad_port_falls_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
