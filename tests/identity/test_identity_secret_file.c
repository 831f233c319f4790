/* The secret file: what shoal writes it reads back, comment lines anywhere, every field checked
 * against the others, and a file created once with mode 0600 and reused after. */
#include "harness.h"
#include "shoal/identity.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static shoal_keypair keys;

static char *formatted(void)
{
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_identity_format(&keys, &b);
    CHECK_EQ_ERR(shoal_buf_status(&b), SHOAL_OK);
    return b.data;
}

static int parse(const char *text)
{
    shoal_keypair out;
    char *guarded = harness_guarded(text, strlen(text));
    int rc = shoal_identity_parse(guarded, strlen(text), &out);
    free(guarded);
    if (rc == SHOAL_OK) {
        CHECK_EQ_MEM(out.pub, 32, keys.pub, 32);
        CHECK_EQ_MEM(out.sec, 64, keys.sec, 64);
    }
    return rc;
}

/* The text with the first occurrence of `from` replaced by `to`. */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CHECK(at != NULL);
    size_t head = (size_t)(at - text);
    char *out = malloc(strlen(text) + strlen(to) + 1);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void what_shoal_writes_it_reads_back(void)
{
    char *text = formatted();
    CHECK_EQ_ERR(parse(text), SHOAL_OK);
    char id[SHOAL_REF_STRSIZE];
    shoal_identity_feed_id(keys.pub, id);
    CHECK(strstr(text, id) != NULL);
    free(text);
}

static void the_reference_layout_with_comments_is_read(void)
{
    /* ssb-keys writes comment lines before and after the JSON, some of them indented here */
    char *text = formatted();
    char *json = strchr(text, '{');
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_appendf(&b,
                      "# this is your SECRET name.\n#\n   # indented comment\n\n%s\n"
                      "# WARNING! share your public name instead\n# @x\n",
                      json);
    CHECK_EQ_ERR(parse(b.data), SHOAL_OK);
    shoal_buf_free(&b);
    free(text);
}

static void every_field_is_checked_against_the_others(void)
{
    char *text = formatted();
    shoal_keypair other;
    uint8_t seed[32] = {9};
    shoal_keypair_from_seed(&other, seed);
    char other_pub[SHOAL_KEY_B64SIZE], pub[SHOAL_KEY_B64SIZE];
    shoal_key_to_b64(other.pub, other_pub);
    shoal_key_to_b64(keys.pub, pub);
    /* `public` names another key */
    char from[64], to[64];
    snprintf(from, sizeof from, "\"public\": \"%s", pub);
    snprintf(to, sizeof to, "\"public\": \"%s", other_pub);
    char *t = replaced(text, from, to);
    CHECK_EQ_ERR(parse(t), SHOAL_E_IDENTITY_MISMATCH);
    /* the id names another key */
    char *id_at = strstr(strstr(text, "\"id\""), pub);
    char *t2 = replaced(id_at, pub, other_pub);
    shoal_buf b = SHOAL_BUF_INIT;
    shoal_buf_append(&b, text, (size_t)(id_at - text));
    shoal_buf_append_str(&b, t2);
    CHECK_EQ_ERR(parse(b.data), SHOAL_E_IDENTITY_MISMATCH);
    free(t), free(t2), shoal_buf_free(&b);
    /* the private key's public half is another key's */
    char sec[89];
    sodium_bin2base64(sec, sizeof sec, keys.sec, 64, sodium_base64_VARIANT_ORIGINAL);
    shoal_keypair mixed = keys;
    memcpy(mixed.sec + 32, other.pub, 32);
    char mixed_sec[89];
    sodium_bin2base64(mixed_sec, sizeof mixed_sec, mixed.sec, 64, sodium_base64_VARIANT_ORIGINAL);
    t = replaced(text, sec, mixed_sec);
    CHECK_EQ_ERR(parse(t), SHOAL_E_IDENTITY_MISMATCH);
    free(t);
    free(text);
}

static void malformed_files_are_refused(void)
{
    char *text = formatted();
    static const char *const from[] = {"\"ed25519\",", ".ed25519\",\n  \"private\"", "{", "\"id\""};
    static const char *const to[] = {"\"curve25519\",", ".sha256\",\n  \"private\"", "[", "\"di\""};
    for (size_t i = 0; i < 4; i++) {
        char *t = replaced(text, from[i], to[i]);
        CHECK_EQ_ERR(parse(t), SHOAL_E_IDENTITY_FORMAT);
        free(t);
    }
    /* a private key with a byte outside base64's alphabet, which libsodium 1.0.18 would take */
    char *at = strstr(text, "\"private\": \"") + 12;
    char saved = *at;
    *at = (char)0xff;
    CHECK_EQ_ERR(parse(text), SHOAL_E_IDENTITY_FORMAT);
    *at = saved;
    CHECK_EQ_ERR(parse(""), SHOAL_E_IDENTITY_FORMAT);
    CHECK_EQ_ERR(parse("# only a comment\n"), SHOAL_E_IDENTITY_FORMAT);
    free(text);
}

static void a_missing_file_is_created_private_and_then_reused(void)
{
    char dir[] = "/tmp/shoal-identity-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/secret", dir);
    shoal_keypair first, second;
    bool created;
    CHECK_EQ_ERR(shoal_identity_load(path, &first), SHOAL_E_IDENTITY_IO);
    CHECK_EQ_ERR(shoal_identity_load_or_create(path, &first, &created), SHOAL_OK);
    CHECK(created);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    CHECK_EQ_ERR(shoal_identity_load_or_create(path, &second, &created), SHOAL_OK);
    CHECK(!created);
    CHECK_EQ_MEM(second.sec, 64, first.sec, 64);
    /* a damaged file is reported, never replaced */
    FILE *f = fopen(path, "w");
    fputs("{}", f);
    fclose(f);
    CHECK_EQ_ERR(shoal_identity_load_or_create(path, &second, &created), SHOAL_E_IDENTITY_FORMAT);
    CHECK(!created);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    uint8_t seed[32] = {42};
    shoal_keypair_from_seed(&keys, seed);
    RUN(what_shoal_writes_it_reads_back);
    RUN(the_reference_layout_with_comments_is_read);
    RUN(every_field_is_checked_against_the_others);
    RUN(malformed_files_are_refused);
    RUN(a_missing_file_is_created_private_and_then_reused);
    return harness_finish();
}
