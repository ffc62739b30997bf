// SPDX-License-Identifier: MIT
/*
 * The API socket's pieces without a VM: the HTTP request parser accepts
 * what curl sends and refuses everything outside its strict subset with
 * the right status; the JSON writer escapes, nests and refuses to
 * overflow; the routes answer with cloud-hypervisor's statuses and
 * bodies; --api-socket refuses bad paths and descriptors.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"

#if IS_ENABLED(CONFIG_API)

#include "core/api.h"
#include "core/counters.h"
#include "core/http.h"
#include "core/json.h"
#include "core/vm.h"

#define CURL_PING "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"

static int parse(const char *text, struct http_request *req)
{
	return http_parse(text, strlen(text), req);
}

static void test_http_curl_request(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse(CURL_PING, &req), 1);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/api/v1/vmm.ping");
	assert_int_equal(req.body_len, 0);
	assert_int_equal(req.total_len, strlen(CURL_PING));
	assert_false(req.close);
}

static void test_http_body_and_pipelining(void **state)
{
	const char *two = "PUT /api/v1/vm.pause HTTP/1.1\r\nContent-Length: 4\r\n\r\n{}\r\n"
			  "GET /x HTTP/1.1\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_int_equal(parse(two, &req), 1);
	assert_int_equal(req.body_len, 4);
	assert_memory_equal(req.body, "{}\r\n", 4);
	assert_int_equal(parse(two + req.total_len, &req), 1);
	assert_string_equal(req.target, "/x");
}

static void test_http_needs_more(void **state)
{
	struct http_request req;
	char partial[sizeof(CURL_PING)];

	(void)state;
	/* every prefix of a good request waits for more */
	for (size_t n = 0; n < strlen(CURL_PING); n++) {
		memcpy(partial, CURL_PING, n);
		assert_int_equal(http_parse(partial, n, &req), 0);
	}
	assert_int_equal(parse("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", &req), 0);
}

static void test_http_refusals(void **state)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\n\n", 400 },				/* bare LF */
		{ "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400 },		/* bare CR */
		{ "get / HTTP/1.1\r\n\r\n", 400 },			/* method case */
		{ "GETTINGLONG / HTTP/1.1\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\n\r\n", 400 },			/* not origin-form */
		{ "GET /a\x01 HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/1.2\r\n\r\n", 505 },
		{ "GET / FTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n: empty\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nA : b\r\n\r\n", 400 },		/* space before colon */
		{ "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400 },	/* folding */
		{ "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400 },
		{ "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "PUT / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400 },
		{ "PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400 },
		{ "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400 },
		{ "PUT / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", 413 },
		{ "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413 },
		{ "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411 },
		{ "\r\n\r\n", 400 },
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = parse(cases[i].text, &req);

		if (ret != -cases[i].status)
			fail_msg("case %zu: got %d, expected %d", i, ret, -cases[i].status);
	}
}

static void test_http_limits(void **state)
{
	static char buf[HTTP_MAX_HEAD + 64];
	struct http_request req;
	size_t n;

	(void)state;
	/* a target of 127 bytes fits, 128 does not */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /%0126d HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(http_parse(buf, n, &req), 1);
	n = (size_t)snprintf(buf, sizeof(buf), "GET /%0127d HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(http_parse(buf, n, &req), -414);
	/* a head that never ends within HTTP_MAX_HEAD */
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	memset(buf + 19, 'a', sizeof(buf) - 19);
	assert_int_equal(http_parse(buf, HTTP_MAX_HEAD - 1, &req), 0);
	assert_int_equal(http_parse(buf, HTTP_MAX_HEAD, &req), -431);
	assert_int_equal(http_parse(buf, sizeof(buf), &req), -431);
}

static void test_http_connection_close(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &req), 1);
	assert_true(req.close);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), 1);
	assert_true(req.close);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &req), 1);
	assert_false(req.close);
}

static void test_json_document(void **state)
{
	char buf[256];
	struct json j;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	json_object_begin(&j, NULL);
	json_string(&j, "s", "a\"b\\c\n\x01");
	json_u64(&j, "n", UINT64_MAX);
	json_array_begin(&j, "a");
	json_bool(&j, NULL, true);
	json_bool(&j, NULL, false);
	json_string(&j, NULL, NULL);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_end(&j);
	json_object_end(&j);
	assert_int_equal(json_finish(&j), (long)strlen(buf));
	assert_string_equal(buf, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\",\"n\":18446744073709551615,"
				 "\"a\":[true,false,null,{}]}");
}

static void test_json_utf8(void **state)
{
	char buf[128];
	struct json j;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	/* valid two-, three- and four-byte sequences pass; a stray
	 * continuation byte, an overlong form and a surrogate do not */
	json_string(&j, NULL, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	assert_true(json_finish(&j) > 0);
	assert_string_equal(buf, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\ufffd|\\ufffd\\ufffd|"
				 "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
}

static void test_json_overflow_and_nesting(void **state)
{
	char buf[8];
	struct json j;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	json_string(&j, NULL, "too long for it");
	assert_int_equal(json_finish(&j), -1);
	assert_true(strlen(buf) < sizeof(buf));
	json_init(&j, buf, sizeof(buf));
	json_object_begin(&j, NULL);
	assert_int_equal(json_finish(&j), -1);	/* not closed */
	json_init(&j, buf, sizeof(buf));
	json_object_end(&j);
	assert_int_equal(json_finish(&j), -1);	/* closed too often */
}

/* The VM the routes see: running, no vCPUs, no power button. */
static struct vm_config test_cfg = {
	.kernel = "/k", .cmdline = "console=ttyS0", .cpus = 2, .memory = { .size = 256ull << 20 },
};
static struct vm test_vm = { .cfg = &test_cfg };

static char answer[8192];

static const char *ask(const char *request)
{
	unsigned long n = api_test_answer(&test_vm, request, strlen(request), answer,
					  sizeof(answer) - 1);

	answer[n] = '\0';
	return answer;
}

static void test_route_ping(void **state)
{
	char expect[128];

	(void)state;
	ask(CURL_PING);
	assert_contains(answer, "HTTP/1.1 200 OK\r\n");
	assert_contains(answer, "Content-Type: application/json\r\n");
	assert_contains(answer, "\"version\":\"" WISP_VERSION "\"");
	snprintf(expect, sizeof(expect), "\"pid\":%ld,", (long)getpid());
	assert_contains(answer, expect);
	assert_contains(answer, "\"features\":[\"kvm\"]}");
	/* Content-Length is the body's */
	assert_contains(answer, "Content-Length: ");
	assert_int_equal(strtoul(strstr(answer, "Content-Length: ") + 16, NULL, 10),
			 strlen(strstr(answer, "\r\n\r\n") + 4));
}

static void test_route_info(void **state)
{
	(void)state;
	ask("GET /api/v1/vm.info HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 200 OK\r\n");
	assert_contains(answer, "{\"config\":{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2,\"kvm_hyperv\":false},"
				"\"memory\":{\"size\":268435456,");
	assert_contains(answer, "\"payload\":{\"kernel\":\"/k\",\"cmdline\":\"console=ttyS0\"}}");
	assert_contains(answer, "\"state\":\"Running\"");
}

/* Each device's part of vm.info, in cloud-hypervisor's shape: disks of
 * both kinds in one array, in the order given; one object for the rng,
 * serial, console and vsock. */
static void test_route_info_devices(void **state)
{
	static struct vm_config cfg;
	struct vm vm = { .cfg = &cfg };
	struct cli_error err;
	char img[] = "/tmp/wisp-api-img-XXXXXX", disk[64], disk2[64], pmem[64], expect[128];
	int fd = mkstemp(img);
	char *argv[] = {
		"wisp", "--kernel", img, "--disk", disk, "--disk", "vhost_user=on,socket=/vu.sock",
		"--disk", disk2, "--net", "tap=tap7,mac=52:54:00:12:34:56",
		"--rng", "src=/dev/urandom", "--serial", "off", "--console", "file=/tmp/c.log",
		"--vsock", "cid=5,socket=/v.sock", "--pmem", pmem, "--memory", "shared=on", NULL,
	};
	unsigned long n;

	(void)state;
	/* the options check their files: a pmem file is a multiple of 2 MiB */
	assert_true(fd >= 0 && !ftruncate(fd, 2 << 20) && !close(fd));
	snprintf(disk, sizeof(disk), "path=%s,readonly=on", img);
	snprintf(disk2, sizeof(disk2), "path=%s,id=b,readonly=on", img);
	snprintf(pmem, sizeof(pmem), "file=%s,discard_writes=on", img);
	if (cli_parse(sizeof(argv) / sizeof(argv[0]) - 1, argv, &cfg, stdout, &err) != CLI_RUN)
		fail_msg("%s", err.msg);
	unlink(img);
	n = api_test_answer(&vm, "GET /api/v1/vm.info HTTP/1.1\r\n\r\n", 33, answer, sizeof(answer) - 1);
	answer[n] = '\0';
	assert_contains(answer, "HTTP/1.1 200 OK\r\n");
	snprintf(expect, sizeof(expect), "\"disks\":[{\"path\":\"%s\",\"readonly\":true,", img);
	assert_contains(answer, expect);
	assert_contains(answer, "},{\"num_queues\":1,\"queue_size\":128,\"vhost_user\":true,"
				"\"vhost_socket\":\"/vu.sock\",");
	assert_contains(answer, "\"id\":\"b\"}],");
	assert_contains(answer, "\"net\":[{\"tap\":\"tap7\",");
	assert_contains(answer, "\"mac\":\"52:54:00:12:34:56\"");
	assert_contains(answer, "\"rng\":{\"src\":\"/dev/urandom\",\"iommu\":false,\"pci_segment\":0}");
	if (IS_ENABLED(CONFIG_PCI_SEGMENTS))
		assert_contains(answer, "\"platform\":{\"num_pci_segments\":1}");
	assert_contains(answer, "\"serial\":{\"file\":null,\"mode\":\"Off\",\"iommu\":false}");
	assert_contains(answer, "\"console\":{\"file\":\"/tmp/c.log\",\"mode\":\"File\",");
	assert_contains(answer, "\"vsock\":{\"cid\":5,\"socket\":\"/v.sock\",\"iommu\":false,"
				"\"pci_segment\":0}");
	snprintf(expect, sizeof(expect), "\"pmem\":[{\"file\":\"%s\",\"size\":2097152,"
		 "\"iommu\":false,\"discard_writes\":true,", img);
	assert_contains(answer, expect);
	/* one "disks" member, not one per kind */
	assert_null(strstr(strstr(answer, "\"disks\"") + 1, "\"disks\""));
}

static void test_route_counters(void **state)
{
	static const char *const names[] = { "read_bytes", "read_ops" };
	static atomic_ullong disk0[2], disk1[2];

	(void)state;
	counters_register("_disk", names, disk0, 2);
	counters_register("_disk", names, disk1, 2);
	counter_add(&disk1[0], 4096);
	counter_add(&disk1[1], 1);
	ask("GET /api/v1/vm.counters HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 200 OK\r\n");
	assert_contains(answer, "{\"_disk0\":{\"read_bytes\":0,\"read_ops\":0},"
				"\"_disk1\":{\"read_bytes\":4096,\"read_ops\":1}}");
}

static void test_route_errors(void **state)
{
	(void)state;
	ask("GET /api/v1/vm.nothing HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 404 Not Found\r\n");
	ask("GET /other HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 404 Not Found\r\n");
	ask("GET /api/v1/vm.pause HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 400 Bad Request\r\n");
	ask("PUT /api/v1/vm.add-disk HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	assert_contains(answer, "HTTP/1.1 500 Internal Server Error\r\n");
	assert_contains(answer, "vm.add-disk is not implemented by wisp");
	ask("PUT /api/v1/vm.resume HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 405 Method Not Allowed\r\n");
	assert_contains(answer, "not paused");
	ask("PUT /api/v1/vm.power-button HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 500 ");
	assert_contains(answer, "no power button");
	/* a refused request closes the connection */
	ask("PUT /api/v1/vm.pause HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 411 Length Required\r\n");
	assert_contains(answer, "Connection: close\r\n");
}

/* A reclaim hook standing for a balloon: what vm.resize asked for. */
static uint64_t asked;

static uint64_t fake_taken(void *opaque)
{
	(void)opaque;
	return 64ull << 20;
}

static int fake_target(void *opaque, uint64_t bytes)
{
	(void)opaque;
	if (bytes > test_cfg.memory.size)
		return -1;
	asked = bytes;
	return 0;
}

static const struct vm_reclaim fake_reclaim = { .taken = fake_taken, .target = fake_target };

static void resize(const char *body)
{
	char req[256];

	snprintf(req, sizeof(req), "PUT /api/v1/vm.resize HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	ask(req);
}

static void test_route_resize(void **state)
{
	(void)state;
	resize("{\"desired_balloon\": 134217728}");
	assert_contains(answer, "HTTP/1.1 500 ");
	assert_contains(answer, "has no balloon");
	test_vm.reclaim = &fake_reclaim;
	resize("{\"desired_balloon\": 134217728}");
	assert_contains(answer, "HTTP/1.1 204 No Content\r\n");
	assert_int_equal(asked, 128ull << 20);
	ask("GET /api/v1/vm.info HTTP/1.1\r\n\r\n");
	assert_contains(answer, "\"memory_actual_size\":201326592");
	resize("{\"desired_balloon\":0}");
	assert_contains(answer, "HTTP/1.1 204 No Content\r\n");
	assert_int_equal(asked, 0);
	/* more than RAM, not a number, past 2^64, missing */
	resize("{\"desired_balloon\": 268439552}");
	assert_contains(answer, "HTTP/1.1 400 ");
	resize("{\"desired_balloon\": -1}");
	assert_contains(answer, "HTTP/1.1 400 ");
	resize("{\"desired_balloon\": 18446744073709551616}");
	assert_contains(answer, "HTTP/1.1 400 ");
	resize("{\"desired_balloon\": 12x}");
	assert_contains(answer, "HTTP/1.1 400 ");
	resize("{}");
	assert_contains(answer, "HTTP/1.1 400 ");
	assert_int_equal(asked, 0);
	/* hotplug, which wisp has not: the error names it */
	resize("{\"desired_vcpus\": 4}");
	assert_contains(answer, "HTTP/1.1 500 ");
	assert_contains(answer, "no vCPU hotplug");
	resize("{\"desired_ram\": 1073741824, \"desired_balloon\": 0}");
	assert_contains(answer, "no memory hotplug");
	test_vm.reclaim = NULL;
}

static void test_route_shutdown_answers_204(void **state)
{
	(void)state;
	ask("PUT /api/v1/vm.shutdown HTTP/1.1\r\n\r\n");
	assert_contains(answer, "HTTP/1.1 204 No Content\r\n");
	assert_contains(answer, "Content-Length: 0\r\n");
	assert_null(strstr(answer, "Content-Type"));
}

/* A listening socket in a fresh directory, and clients of it. */
static char sock_dir[] = "/tmp/wisp-api-conn-XXXXXX";
static struct sockaddr_un sock_addr = { .sun_family = AF_UNIX };

static int test_listener(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_non_null(mkdtemp(sock_dir));
	snprintf(sock_addr.sun_path, sizeof(sock_addr.sun_path), "%s/api.sock", sock_dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sock_addr, sizeof(sock_addr)), 0);
	assert_int_equal(listen(fd, 128), 0);
	return fd;
}

static int client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&sock_addr, sizeof(sock_addr)), 0);
	return fd;
}

static void send_text(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* What the server has answered on fd so far, without waiting: its
 * length, 0 for nothing yet, -1 once the server has closed fd. */
static ssize_t received(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n == 0 ? -1 : n;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_connections(void **state)
{
	int listener = test_listener(), idle[8], slow, late, piped;
	char buf[8192];

	(void)state;
	/* two requests in one write, both answered, in order */
	piped = client();
	send_text(piped, "GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\n\r\n");
	api_test_serve(&test_vm, listener, 5);
	assert_true(received(piped, buf, sizeof(buf)) > 0);
	assert_int_equal(count(buf, "HTTP/1.1 200 OK"), 2);
	assert_true(strstr(buf, "\"features\"") < strstr(buf, "\"state\""));
	/* a request in pieces is answered once it is whole */
	slow = client();
	send_text(slow, "GET /api/v1/vmm.ping HT");
	api_test_serve(&test_vm, listener, 3);
	assert_int_equal(received(slow, buf, sizeof(buf)), 0);
	send_text(slow, "TP/1.1\r\n\r\n");
	api_test_serve(&test_vm, listener, 3);
	assert_true(received(slow, buf, sizeof(buf)) > 0);
	assert_contains(buf, "HTTP/1.1 200 OK");
	/* eight silent connections take every slot (with piped and slow,
	 * two of them wait in the backlog); after a second of silence they
	 * make room, and a late client is answered */
	for (int i = 0; i < 8; i++)
		idle[i] = client();
	api_test_serve(&test_vm, listener, 10);
	late = client();
	send_text(late, "GET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n");
	api_test_serve(&test_vm, listener, 10);
	assert_int_equal(received(late, buf, sizeof(buf)), 0);
	usleep(1100 * 1000);
	api_test_serve(&test_vm, listener, 20);
	assert_true(received(late, buf, sizeof(buf)) > 0);
	assert_contains(buf, "HTTP/1.1 200 OK");
	assert_contains(buf, "Connection: close\r\n");
	/* Connection: close: the server closed it after the answer */
	assert_int_equal(received(late, buf, sizeof(buf)), -1);
	for (int i = 0; i < 8; i++)
		close(idle[i]);
	close(piped);
	close(slow);
	close(late);
	close(listener);
	unlink(sock_addr.sun_path);
	rmdir(sock_dir);
}

static enum cli_action run_cli(const char *value, struct cli_error *err)
{
	char *argv[] = { "wisp", "--kernel", "/k", "--api-socket", (char *)value, NULL };
	struct vm_config cfg;
	enum cli_action a = cli_parse(5, argv, &cfg, stdout, err);

	if (a == CLI_RUN)
		cli_free(&cfg);
	return a;
}

static void test_cli_socket_paths(void **state)
{
	char dir[] = "/tmp/wisp-api-test-XXXXXX", path[96], file[64];
	struct cli_error err;
	int fd, listening;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "path=%s/api.sock", dir);
	assert_int_equal(run_cli(path, &err), CLI_RUN);
	assert_int_equal(run_cli(path + 5, &err), CLI_RUN);	/* bare PATH */
	snprintf(file, sizeof(file), "%s/exists", dir);
	close(creat(file, 0600));
	snprintf(path, sizeof(path), "path=%s", file);
	assert_int_equal(run_cli(path, &err), CLI_ERROR);
	assert_contains(err.msg, "exists already");
	snprintf(path, sizeof(path), "path=%s/missing/api.sock", dir);
	assert_int_equal(run_cli(path, &err), CLI_ERROR);
	assert_contains(err.msg, "does not exist");
	assert_int_equal(run_cli("path=/tmp/a,fd=3", &err), CLI_ERROR);
	assert_int_equal(run_cli("fd=999999", &err), CLI_ERROR);
	assert_contains(err.msg, "not an open file descriptor");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(path, sizeof(path), "fd=%d", fd);
	assert_int_equal(run_cli(path, &err), CLI_ERROR);
	assert_contains(err.msg, "not a listening socket");
	/* autobound to an abstract address, as listen() needs an address */
	listening = bind(fd, (struct sockaddr *)&(sa_family_t){ AF_UNIX }, sizeof(sa_family_t)) ||
		    listen(fd, 1);
	assert_int_equal(listening, 0);
	assert_int_equal(run_cli(path, &err), CLI_RUN);
	close(fd);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_curl_request),
		cmocka_unit_test(test_http_body_and_pipelining),
		cmocka_unit_test(test_http_needs_more),
		cmocka_unit_test(test_http_refusals),
		cmocka_unit_test(test_http_limits),
		cmocka_unit_test(test_http_connection_close),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_overflow_and_nesting),
		cmocka_unit_test(test_route_ping),
		cmocka_unit_test(test_route_info),
		cmocka_unit_test(test_route_info_devices),
		cmocka_unit_test(test_route_counters),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_route_resize),
		cmocka_unit_test(test_route_shutdown_answers_204),
		cmocka_unit_test(test_connections),
		cmocka_unit_test(test_cli_socket_paths),
	};

	return cmocka_run_group_tests_name("api socket", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("api socket")

#endif
