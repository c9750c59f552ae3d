/*
 * replay_main.c - runs a libFuzzer target over every file in a directory,
 * so that seed corpora are replayed under the sanitizers in the ordinary
 * test build (which is compiled by gcc, without libFuzzer).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv);

static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL || fstat(fileno(fp), &st) != 0) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dirent *de;
	DIR *d;
	int count = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if ((d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", argv[1]);
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if (replay_file(path) != 0) {
			closedir(d);
			return 2;
		}
		count++;
	}
	closedir(d);
	if (count == 0) {
		fprintf(stderr, "replay: no seeds in %s\n", argv[1]);
		return 1;
	}
	printf("replayed %d seeds\n", count);
	return 0;
}
