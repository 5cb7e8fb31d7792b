package HLSPlaylist;

# An LL-HLS media playlist reader and the rules of RFC 8216bis it must
# keep, for the tests: parse($text) gives a structure, problems($pl) the
# list of rules broken (empty when the playlist is right).

use strict;
use warnings;

use POSIX qw(floor);

sub parse {
    my ($text) = @_;

    my $pl = { segments => [], tags => {}, maps => [] };
    my @lines = split /\r?\n/, $text;

    $pl->{header} = shift(@lines) // '';

    my $cur = { parts => [] };

    for my $l (@lines) {
        next if $l eq '';

        if ($l =~ /^#EXT-X-TARGETDURATION:(\d+)$/) {
            $pl->{target} = $1;
        } elsif ($l =~ /^#EXT-X-PART-INF:PART-TARGET=([\d.]+)$/) {
            $pl->{part_target} = $1;
        } elsif ($l =~ /^#EXT-X-SERVER-CONTROL:(.*)$/) {
            $pl->{server_control} = { _attrs($1) };
        } elsif ($l =~ /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/) {
            $pl->{msn} = $1;
        } elsif ($l =~ /^#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)$/) {
            $pl->{disc_seq} = $1;
        } elsif ($l =~ /^#EXT-X-VERSION:(\d+)$/) {
            $pl->{version} = $1;
        } elsif ($l =~ /^#EXT-X-MAP:(.*)$/) {
            my %a = _attrs($1);
            $cur->{map} = $a{URI};
            push @{ $pl->{maps} }, $a{URI};
        } elsif ($l eq '#EXT-X-DISCONTINUITY') {
            $cur->{discontinuity} = 1;
        } elsif ($l =~ /^#EXT-X-PROGRAM-DATE-TIME:(.*)$/) {
            $cur->{pdt} = $1;
        } elsif ($l =~ /^#EXT-X-PART:(.*)$/) {
            my %a = _attrs($1);
            push @{ $cur->{parts} }, {
                duration    => $a{DURATION},
                uri         => $a{URI},
                independent => ($a{INDEPENDENT} // '') eq 'YES',
            };
        } elsif ($l =~ /^#EXTINF:([\d.]+),/) {
            $cur->{duration} = $1;
        } elsif ($l =~ /^#EXT-X-PRELOAD-HINT:(.*)$/) {
            $pl->{hint} = { _attrs($1) };
        } elsif ($l eq '#EXT-X-ENDLIST') {
            $pl->{ended} = 1;
        } elsif ($l =~ /^#/) {
            push @{ $pl->{unknown} }, $l;
        } else {
            $cur->{uri} = $l;
            push @{ $pl->{segments} }, $cur;
            $cur = { parts => [] };
        }
    }

    # parts of the segment being written
    $pl->{open} = $cur if @{ $cur->{parts} };

    return $pl;
}

sub _attrs {
    my ($s) = @_;
    my %a;
    while ($s =~ /\G([A-Z0-9-]+)=("[^"]*"|[^,]*),?/gc) {
        my ($k, $v) = ($1, $2);
        $v =~ s/^"(.*)"$/$1/;
        $a{$k} = $v;
    }
    return %a;
}

# the number of a segment from its URI: <epoch>-<msn>.m4s
sub uri_msn {
    my ($uri) = @_;
    return $uri =~ /-(\d+)(?:\.(\d+))?\.m4s$/ ? ($1, $2) : ();
}

sub problems {
    my ($pl) = @_;
    my @p;

    push @p, 'no #EXTM3U' unless $pl->{header} eq '#EXTM3U';
    push @p, 'no TARGETDURATION' unless defined $pl->{target};
    push @p, 'no PART-INF' unless defined $pl->{part_target};
    push @p, 'no MEDIA-SEQUENCE' unless defined $pl->{msn};
    push @p, 'no EXT-X-MAP before the first segment'
        unless @{ $pl->{maps} } && (($pl->{segments}[0] // $pl->{open}
                                     // {})->{map});
    push @p, "unknown tag $_" for @{ $pl->{unknown} // [] };
    return @p if @p;

    my $sc = $pl->{server_control} // {};
    push @p, 'CAN-BLOCK-RELOAD is not YES'
        unless ($sc->{'CAN-BLOCK-RELOAD'} // '') eq 'YES';
    push @p, "PART-HOLD-BACK $sc->{'PART-HOLD-BACK'} < 3 x PART-TARGET"
        unless ($sc->{'PART-HOLD-BACK'} // 0)
               >= 3 * $pl->{part_target} - 1e-9;

    my $msn = $pl->{msn};
    my @all = (@{ $pl->{segments} }, $pl->{open} ? ($pl->{open}) : ());

    for my $i (0 .. $#all) {
        my $s = $all[$i];
        my $n = $msn + $i;
        my $open = !defined $s->{uri};

        if (!$open) {
            my ($m) = uri_msn($s->{uri});
            push @p, "segment $i is $s->{uri}, not number $n"
                unless defined $m && $m == $n;
            push @p, "segment $n: EXTINF $s->{duration} rounds above "
                     . "TARGETDURATION $pl->{target}"
                if floor($s->{duration} + 0.5) > $pl->{target};
        }

        my $sum = 0;
        for my $j (0 .. $#{ $s->{parts} }) {
            my $pt = $s->{parts}[$j];
            my ($pm, $pj) = uri_msn($pt->{uri});
            push @p, "part $pt->{uri} is not $n.$j"
                unless defined $pj && $pm == $n && $pj == $j;
            push @p, "part $pt->{uri}: DURATION $pt->{duration} > "
                     . "PART-TARGET $pl->{part_target}"
                if $pt->{duration} > $pl->{part_target} + 1e-6;
            $sum += $pt->{duration};
        }

        if (@{ $s->{parts} }) {
            push @p, "segment $n: its first part is not INDEPENDENT"
                unless $s->{parts}[0]{independent};
            push @p, sprintf("segment %d: parts sum to %.5f, EXTINF %.5f",
                             $n, $sum, $s->{duration})
                if !$open && abs($sum - $s->{duration}) > 0.0005;
        }
    }

    if ($pl->{ended}) {
        push @p, 'a PRELOAD-HINT after the end' if $pl->{hint};
    } else {
        my $h = $pl->{hint};
        if (!$h || ($h->{TYPE} // '') ne 'PART') {
            push @p, 'no PRELOAD-HINT of TYPE=PART';
        } else {
            my ($hm, $hp) = uri_msn($h->{URI});
            my $last = $msn + $#all;
            my $next = $pl->{open} ? scalar @{ $pl->{open}{parts} } : 0;
            $last++ unless $pl->{open};
            push @p, "PRELOAD-HINT $h->{URI} is not the next part "
                     . "$last.$next"
                unless defined $hp && $hm == $last && $hp == $next;
        }
    }

    return @p;
}

1;
