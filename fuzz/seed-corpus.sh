#!/usr/bin/env bash
# Builds the seed corpora of both fuzz targets from the real cXML documents
# in the shared corpus (read only, never changed) and the multipart fixtures
# of crates/cxml/tests. Run it from anywhere. It writes fuzz/corpus/.
#
# Usage: fuzz/seed-corpus.sh [CORPUS_DIR]
# CORPUS_DIR defaults to ../shared/corpus/cxml beside the workspace.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
workspace="$(dirname "$fuzz_dir")"
source_dir="${1:-$workspace/../shared/corpus/cxml}"
if [ ! -d "$source_dir" ]; then
    echo "cXML corpus not found at $source_dir. Pass its path as the first argument." >&2
    exit 1
fi

envelope_dir="$fuzz_dir/corpus/read_envelope"
multipart_dir="$fuzz_dir/corpus/read_multipart"
mkdir -p "$envelope_dir" "$multipart_dir"

documents=()
while IFS= read -r -d '' file; do
    documents+=("$file")
done < <(find "$source_dir" -type f -name '*.xml' -not -path '*/dtd/*' -print0 | sort -z)

for file in "${documents[@]}"; do
    cp "$file" "$envelope_dir/$(basename "$file")"
done

# One multipart seed per document, alternating CRLF and LF-only bodies and
# with and without a `start` parameter. The first line of each seed is the
# Content-Type, as the read_multipart target expects.
index=0
for file in "${documents[@]}"; do
    name="$(basename "$file" .xml)"
    boundary="----=_Part_${index}"
    if (( index % 2 == 0 )); then
        eol=$'\r\n'
        header="multipart/related; boundary=\"$boundary\"; type=\"text/xml\"; start=\"<payload-$index@pobridge.test>\""
    else
        eol=$'\n'
        header="multipart/related; boundary=$boundary; type=\"application/xml\""
    fi
    {
        printf '%s\n' "$header"
        printf -- '--%s%s' "$boundary" "$eol"
        printf 'Content-Type: text/xml; charset=UTF-8%s' "$eol"
        printf 'Content-ID: <payload-%s@pobridge.test>%s%s' "$index" "$eol" "$eol"
        cat "$file"
        printf '%s--%s%s' "$eol" "$boundary" "$eol"
        printf 'Content-Type: application/pdf%s' "$eol"
        printf 'Content-Transfer-Encoding: base64%s' "$eol"
        printf 'Content-ID: <spec-%s.pdf@pobridge.test>%s%s' "$index" "$eol" "$eol"
        printf 'JVBERi0xLjQKJSVFT0YK%s' "$eol"
        printf -- '--%s--%s' "$boundary" "$eol"
    } > "$multipart_dir/$name.mime"
    index=$((index + 1))
done

fixtures="$workspace/crates/cxml/tests/fixtures/multipart"
{
    printf '%s\n' 'multipart/related; boundary="----=_Part_0_1"; type="text/xml"; start="<payload.xml@pobridge.test>"'
    cat "$fixtures/related-crlf.mime"
} > "$multipart_dir/fixture-related-crlf.mime"
{
    printf '%s\n' 'multipart/related; boundary=b1; type="application/xml"'
    cat "$fixtures/related-lf-only.mime"
} > "$multipart_dir/fixture-related-lf-only.mime"

echo "corpora hold $(ls "$envelope_dir" | wc -l) read_envelope and $(ls "$multipart_dir" | wc -l) read_multipart inputs"
