// SPDX-License-Identifier: MIT
/*
 * One HTTP request to wisp's API socket, for the direct tests (the lab
 * host has no curl by default): prints the status line's code.
 *
 *   api_call SOCKET METHOD PATH [BODY]
 *
 * Exit 0 when a status came back, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *body = argc > 4 ? argv[4] : "";
	char req[4096], resp[4096];
	int fd, n, len, status;

	if (argc < 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: api_call SOCKET METHOD PATH [BODY]\n");
		return 1;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror(argv[1]);
		return 1;
	}
	len = snprintf(req, sizeof(req),
		       "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
		       "Content-Length: %zu\r\n\r\n%s", argv[2], argv[3], strlen(body), body);
	if (len <= 0 || len >= (int)sizeof(req) || write(fd, req, (size_t)len) != len)
		return 1;
	n = (int)read(fd, resp, sizeof(resp) - 1);
	if (n <= 0)
		return 1;
	resp[n] = '\0';
	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
		return 1;
	printf("%d\n", status);
	return 0;
}
