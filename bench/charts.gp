# SPDX-License-Identifier: MIT
# bench/charts.gp: the charts of docs/performance.md, from the data files
# bench/run leaves in R.  gnuplot -e "R='build/bench/bench/results'; D='docs'" bench/charts.gp

set terminal pngcairo size 900,520 font "DejaVu Sans,10" noenhanced
set encoding utf8
set style fill solid 0.85 border -1
set grid ytics lc rgb "#dddddd"
set key top left
set border 3
set xtics nomirror scale 0
set ytics nomirror
c_wisp = "#2a7ab9"
c_alt = "#9fc5e8"
c_qemu = "#c0504d"
c_grey = "#999999"

# --------------------------------------------------------------- start-up
set output D."/perf-startup.png"
set title "Start-up of a minimal PVH guest: median, p10-p90 (log scale)"
set ylabel "milliseconds"
set logscale y
set yrange [0.1:300]
set style data histogram
set style histogram errorbars gap 1.5 lw 1
set xtics rotate by -20
# boxes are 1/(2 + gap) wide: the pair's centres are at -/+ 1/7
plot R."/startup.dat" using 2:3:4:xtic(1) title "wall time" lc rgb c_wisp, \
     "" using 5:6:7 title "CPU time (user + sys)" lc rgb c_alt, \
     "" using ($0 - 1.0/7):($4 * 1.25):(sprintf("%.2f", $2)) with labels font ",8" notitle, \
     "" using ($0 + 1.0/7):($7 * 1.25):(sprintf("%.2f", $5)) with labels font ",8" notitle, \
     2 with lines dt 2 lw 1.5 lc rgb c_wisp title "target: 2 ms wall", \
     1 with lines dt 3 lw 1.5 lc rgb "#4a90c0" title "target: 1 ms CPU"
unset xtics
set xtics nomirror scale 0

# ------------------------------------------------- start-up distribution
set output D."/perf-startup-cdf.png"
set title "Start-up wall time, every run (cumulative)"
set style data lines
set xlabel "wall time, milliseconds (log scale)"
set ylabel "fraction of runs"
set logscale x
unset logscale y
set xrange [*:*]
set yrange [0:1.02]
set key center center
set xtics (0.5, 1, 2, 5, 10, 20, 50, 100, 200)
plot for [i=0:3] R."/startup-cdf.dat" index i using 1:2 with steps lw 2 title columnheader(1)
unset logscale x
unset xlabel
set xtics nomirror scale 0 autofreq

# ---------------------------------------------------------- creation rate
set output D."/perf-rate.png"
set title "VMs started and stopped per second, back to back (log scale)"
set ylabel "VMs per second"
set logscale y
set yrange [5:*]
set key top right
set style data histogram
set style histogram clustered gap 1
set xtics rotate by -20
plot R."/rate.dat" using 2:xtic(1) title "1 loop on CPU 0" lc rgb c_wisp, \
     "" using 3 title "2 loops on both CPUs" lc rgb c_alt, \
     "" using ($0 - 1.0/6):2:(sprintf("%d", $2)) with labels offset 0,0.7 notitle, \
     "" using ($0 + 1.0/6):3:(sprintf("%d", $3)) with labels offset 0,0.7 notitle

# ------------------------------------------------------------------ memory
set xtics norotate
set output D."/perf-memory.png"
set title "Resident memory with a 128 MiB guest, median (log scale)"
set ylabel "MiB"
set logscale y
set yrange [0.01:100]
set key top left
set style histogram clustered gap 1
plot R."/memory.dat" using 2:xtic(1) title "VMM's own, anonymous" lc rgb c_wisp, \
     "" using 3 title "VMM's own, file-backed" lc rgb c_alt, \
     "" using 4 title "guest pages" lc rgb c_grey, \
     1.5 with lines dt 2 lw 1.5 lc rgb c_qemu title "target: 1.5 MiB peak RSS (all of it)"

# ------------------------------------------------------------- binary size
set output D."/perf-size.png"
set title "Static, stripped wisp binary by configuration"
set ylabel "KiB"
unset logscale y
set yrange [0:320]
set key top right
set style histogram rowstacked gap 1
set boxwidth 0.6
plot R."/size.dat" using 2:xtic(1) title "wisp's code and data" lc rgb c_wisp, \
     "" using 3 title "musl libc" lc rgb c_alt, \
     "" using 4 title "libfdt, liburing, libgcc" lc rgb "#f1c232", \
     "" using 5 title "headers, padding, unattributed" lc rgb "#dddddd", \
     "" using 0:($2 + $3 + $4 + $5):(sprintf("%.1f", $2 + $3 + $4 + $5)) with labels offset 0,0.8 notitle, \
     100 with lines dt 2 lw 1.5 lc rgb c_qemu title "target: x86_64 tiny < 100 KiB", \
     300 with lines dt 3 lw 1.5 lc rgb c_qemu title "target: x86_64 full < 300 KiB"
