#!/usr/bin/perl

# Runs the C unit tests (t/unit/*_test.c, built by `make unit` with ASan
# and UBSan) and passes on their TAP lines as subtests.

use strict;
use warnings;

use FindBin;
use Test::More;

my $top = "$FindBin::Bin/..";
my @tests = sort glob("$top/t/unit/*_test.c");

plan skip_all => 'no unit tests' unless @tests;

for my $src (@tests) {
    my ($name) = $src =~ m{/(\w+)_test\.c$};
    my $bin = "$top/build/unit/${name}_test";

    subtest "$name unit tests" => sub {
        plan skip_all => "$bin not built: run make unit" unless -x $bin;

        chdir $top or die "chdir: $!";
        my $out = `$bin 2>&1`;
        my $rc = $? >> 8;

        my ($pass, $fail) = (0, 0);
        for (split /\n/, $out) {
            if (/^ok \d+/) { $pass++ }
            elsif (/^not ok \d+/) { $fail++; diag($_) }
        }

        ok($pass > 0, "$name: $pass checks passed");
        is($fail, 0, "$name: no check failed");
        is($rc, 0, "$name: exit status 0 (sanitizers quiet)")
            or diag(substr($out, -2000));
    };
}

done_testing;
