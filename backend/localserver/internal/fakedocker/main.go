// Command fakedocker stands in for docker in backend/localserver's tests.
// It is scripted through files in $FAKE_DOCKER_DIR:
//
//	<key>.stdout, <key>.stderr, <key>.exit   what a command prints and its exit status
//	                                         (key: version, info, image-inspect,
//	                                         compose-version, compose-build, compose-up,
//	                                         compose-ps, compose-logs, compose-stop,
//	                                         compose-restart, compose-down)
//	<key>.sleep                              a duration to hang before answering
//	devserver.args                           extra triton-devserver flags, one a line
//	startup.log                              the container's log at each start
//
// A scripted non-zero exit status stops there. Otherwise the compose
// commands act as Docker would for one container: "up" starts
// $FAKE_DEVSERVER on the port and address the --env-file names (failing as
// Docker does when the port is taken), "stop"/"down" end it, "ps" reports
// its state (the file state: "running" or "exited CODE"), "logs" prints
// container.log (following it with --follow). Every call is appended to
// calls.log as one JSON line.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var dir = os.Getenv("FAKE_DOCKER_DIR")

func main() {
	if dir == "" {
		fmt.Fprintln(os.Stderr, "fakedocker: FAKE_DOCKER_DIR is not set")
		os.Exit(2)
	}
	args := os.Args[1:]
	key, sub := keyOf(args)
	record(args)
	if b, err := os.ReadFile(filepath.Join(dir, key+".sleep")); err == nil {
		d, _ := time.ParseDuration(strings.TrimSpace(string(b)))
		time.Sleep(d)
	}
	if code, scripted := script(key); scripted && code != 0 {
		os.Exit(code)
	}
	switch key {
	case "version":
		if !exists(key + ".stdout") {
			fmt.Println("27.3.1")
		}
	case "compose-version":
		if !exists(key + ".stdout") {
			fmt.Println("2.29.1")
		}
	case "image-inspect":
		if !exists("image") && !exists(key+".stdout") {
			fmt.Fprintln(os.Stderr, "Error: No such image: nemo-transcribe-triton:local")
			os.Exit(1)
		}
		fmt.Println("sha256:0123456789abcdef")
	case "compose-build":
		os.WriteFile(filepath.Join(dir, "image"), []byte("built\n"), 0o644)
	case "compose-up":
		os.Exit(up(sub))
	case "compose-ps":
		ps()
	case "compose-logs":
		logs(sub)
	case "compose-stop":
		stop("exited 0")
	case "compose-restart":
		stop("exited 0")
		if code := up(sub); code != 0 {
			os.Exit(code)
		}
	case "compose-down":
		stop("")
		os.Remove(filepath.Join(dir, "state"))
		for _, a := range sub {
			if a == "--rmi" {
				os.Remove(filepath.Join(dir, "image"))
			}
		}
	}
}

// keyOf names the command and returns the arguments after it; for
// compose, global flags and their values are skipped.
func keyOf(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	switch args[0] {
	case "image":
		if len(args) > 1 {
			return "image-" + args[1], args[2:]
		}
	case "compose":
		withValue := map[string]bool{"--env-file": true, "-f": true, "--file": true, "-p": true, "--project-name": true, "--ansi": true, "--progress": true, "--project-directory": true, "--profile": true}
		for i := 1; i < len(args); i++ {
			if withValue[args[i]] {
				i++
				continue
			}
			if strings.HasPrefix(args[i], "-") {
				continue
			}
			return "compose-" + args[i], args[i+1:]
		}
		return "compose", nil
	}
	return args[0], args[1:]
}

func record(args []string) {
	env := map[string]string{}
	for _, k := range []string{"NEMO_MODELS", "TRITON_BIND", "TRITON_GRPC_PORT", "BUILDKIT_PROGRESS"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	line, _ := json.Marshal(map[string]any{"args": args, "env": env})
	f, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f.Write(append(line, '\n'))
		f.Close()
	}
}

// script prints the scripted output of key and returns its exit status.
func script(key string) (int, bool) {
	scripted := false
	if b, err := os.ReadFile(filepath.Join(dir, key+".stdout")); err == nil {
		os.Stdout.Write(b)
		scripted = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, key+".stderr")); err == nil {
		os.Stderr.Write(b)
		scripted = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, key+".exit")); err == nil {
		code, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return code, true
	}
	return 0, scripted
}

func exists(name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// globals reads the --env-file and -f values of the compose command line.
func globals() (env map[string]string, files []string) {
	env = map[string]string{}
	args := os.Args[2:]
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--env-file":
			f, err := os.Open(args[i+1])
			if err != nil {
				fmt.Fprintf(os.Stderr, "couldn't find env file: %s\n", args[i+1])
				os.Exit(1)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
					env[k] = v
				}
			}
			f.Close()
		case "-f", "--file":
			files = append(files, args[i+1])
		}
	}
	return env, files
}

func up(_ []string) int {
	env, files := globals()
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(os.Stderr, "open %s: no such file or directory\n", f)
			return 1
		}
	}
	if state() == "running" {
		return 0
	}
	bind, port := env["TRITON_BIND"], env["TRITON_GRPC_PORT"]
	addr := net.JoinHostPort(bind, port)
	// A container just stopped may take a moment to let go of its port.
	l, err := net.Listen("tcp", addr)
	for deadline := time.Now().Add(2 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error response from daemon: driver failed programming external connectivity on endpoint nemo-transcribe-triton-1 (0123): Bind for %s failed: port is already allocated\n", addr)
		return 1
	} else {
		l.Close()
	}
	devserver := os.Getenv("FAKE_DEVSERVER")
	args := []string{"--addr", addr}
	if b, err := os.ReadFile(filepath.Join(dir, "devserver.args")); err == nil {
		for _, a := range strings.Split(string(b), "\n") {
			if a = strings.TrimSpace(a); a != "" {
				args = append(args, a)
			}
		}
	}
	out, err := os.Create(filepath.Join(dir, "devserver.out"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(devserver, args...)
	cmd.Stdout, cmd.Stderr = out, out // never our own pipes: the container outlives this command
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "Error response from daemon: %v\n", err)
		return 1
	}
	os.WriteFile(filepath.Join(dir, "devserver.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	os.WriteFile(filepath.Join(dir, "state"), []byte("running\n"), 0o644)
	if b, err := os.ReadFile(filepath.Join(dir, "startup.log")); err == nil {
		f, _ := os.OpenFile(filepath.Join(dir, "container.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		f.Write(b)
		f.Close()
	}
	fmt.Fprintf(os.Stderr, " Container nemo-transcribe-triton-1  Started (models %s)\n", env["NEMO_MODELS"])
	return 0
}

func state() string {
	b, err := os.ReadFile(filepath.Join(dir, "state"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func stop(next string) {
	if b, err := os.ReadFile(filepath.Join(dir, "devserver.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
				p.Release()
			}
		}
		os.Remove(filepath.Join(dir, "devserver.pid"))
	}
	if next != "" && state() != "" {
		os.WriteFile(filepath.Join(dir, "state"), []byte(next+"\n"), 0o644)
	}
}

func ps() {
	s := state()
	if s == "" {
		return
	}
	st, code, _ := strings.Cut(s, " ")
	n, _ := strconv.Atoi(code)
	line, _ := json.Marshal(map[string]any{"Name": "nemo-transcribe-triton-1", "Service": "triton", "State": st, "Health": "", "ExitCode": n, "Status": s})
	fmt.Println(string(line))
}

func logs(sub []string) {
	follow := false
	for _, a := range sub {
		if a == "--follow" || a == "-f" {
			follow = true
		}
	}
	path := filepath.Join(dir, "container.log")
	var off int64
	for {
		if b, err := os.ReadFile(path); err == nil && int64(len(b)) > off {
			os.Stdout.Write(b[off:])
			off = int64(len(b))
		}
		if !follow || state() != "running" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
